module github.com/licentia/licentia/clients/go

go 1.19

require golang.org/x/crypto v0.24.0

require golang.org/x/sys v0.21.0 // indirect
