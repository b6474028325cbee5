module github.com/udaconnect/udaconnect/db

go 1.26.8
