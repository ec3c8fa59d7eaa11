module github.com/licentia/licentia/clients/go

go 1.19
