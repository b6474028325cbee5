// Package db holds UdaConnect's database: the ordered SQL migrations and the
// demo seed, embedded so that the migrate command carries them.
package db

import "embed"

// Migrations are the numbered SQL files of migrations/, applied in name order.
//
//go:embed migrations/*.sql
var Migrations embed.FS

// Seed is the demo data: the proof of concept's people and reports, with
// every point where it really is.
//
//go:embed seed/demo.sql
var Seed string
