// Generates patterns.json: for each pattern, whether Go's path/filepath.Match accepts it for every name tried.
// Run: go run . > patterns.json (then reshape to [{"pattern", "valid"}], see README.md). Written for this project.
package main

import (
	"encoding/json"
	"math/rand"
	"os"
	"path/filepath"
)

var names []string

func init() {
	alpha := []string{"a", "b", "-", "]", "^", "[", "/", "\\", "?", "*"}
	names = []string{""}
	level := []string{""}
	for depth := 0; depth < 3; depth++ {
		var next []string
		for _, prefix := range level {
			for _, c := range alpha {
				next = append(next, prefix+c)
			}
		}
		names = append(names, next...)
		level = next
	}
}

// valid: filepath.Match accepts the pattern for every name tried (its errors depend on how far a name gets).
func valid(p string) bool {
	r := rand.New(rand.NewSource(int64(len(p)) * 7919))
	chars := []rune(p + "ab")
	tried := append([]string{}, names...)
	for i := 0; i < 20000; i++ {
		n := r.Intn(12)
		s := make([]rune, n)
		for j := range s {
			s[j] = chars[r.Intn(len(chars))]
		}
		tried = append(tried, string(s))
	}
	for _, name := range tried {
		if _, err := filepath.Match(p, name); err != nil {
			return false
		}
	}
	return true
}

func main() {
	alphabet := []rune("a-]*[?^\\/b")
	r := rand.New(rand.NewSource(20261203))
	seen := map[string]bool{}
	var out [][2]any
	fixed := []string{"*", "io.github.*", "a]b", "[", "]", "[]", "[]]", "[]a]", "[^]", "[^a]", "[a-]", "[-a]", "[a-z]", "[[]", "[\\]]",
		"\\", "a\\", "\\*", "[a\\", "[a", "a[b-c]*", "[!a]", "[a-b-c]", "*[", "*]", "[*]", "[a]*[b", "[\\-]", "[a-\\z]", "tag-[0-9]*"}
	for _, p := range fixed {
		if !seen[p] {
			seen[p] = true
			out = append(out, [2]any{p, valid(p)})
		}
	}
	for len(out) < 3000 {
		n := 1 + r.Intn(8)
		s := make([]rune, n)
		for i := range s {
			s[i] = alphabet[r.Intn(len(alphabet))]
		}
		p := string(s)
		if seen[p] {
			continue
		}
		seen[p] = true
		out = append(out, [2]any{p, valid(p)})
	}
	b, _ := json.Marshal(out)
	os.Stdout.Write(b)
}
