package postgres

import (
	"context"
	"fmt"
	"net/url"
)

// The database roles of the functions, created by the migrations
// (docs/design.md, "Access"): each has only the rights its function needs.
const (
	RolePersons     = "udaconnect_persons"
	RoleLocations   = "udaconnect_locations"
	RoleConnections = "udaconnect_connections"
	RoleDeadLetters = "udaconnect_deadletters"
)

// Roles are the functions' roles.
var Roles = []string{RolePersons, RoleLocations, RoleConnections, RoleDeadLetters}

// SetPassword lets role log in with password. Only the migrator, who owns
// the database, may.
func (db *DB) SetPassword(ctx context.Context, role, password string) error {
	var stmt string
	if err := db.pool.QueryRow(ctx, `SELECT format('ALTER ROLE %I LOGIN PASSWORD %L', $1::text, $2::text)`,
		role, password).Scan(&stmt); err != nil {
		return fmt.Errorf("set password of %s: %w", role, err)
	}
	if _, err := db.pool.Exec(ctx, stmt); err != nil {
		return fmt.Errorf("set password of %s: %w", role, err)
	}
	return nil
}

// RoleURL returns the database URL base with role and password as its user.
func RoleURL(base, role, password string) (string, error) {
	u, err := url.Parse(base)
	if err != nil {
		return "", fmt.Errorf("parse DATABASE_URL: %w", err)
	}
	u.User = url.UserPassword(role, password)
	return u.String(), nil
}
