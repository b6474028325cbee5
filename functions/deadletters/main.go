package main

import "github.com/udaconnect/udaconnect/shared/server"

func main() { server.Main(New) }
