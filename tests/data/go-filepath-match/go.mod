module gomatch
go 1.26
