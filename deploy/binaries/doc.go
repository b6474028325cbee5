// Package binaries checks, as tests, that every main package skaffold turns
// into an image (the functions, the door and the migrator), and the local
// broker, builds as ko builds it into a static binary, CGO_ENABLED=0, for
// linux/amd64 and linux/arm64 (the images have no C library and the cluster
// may be either), within its size bound, and builds on its own module
// (GOWORK=off) too.
package binaries
