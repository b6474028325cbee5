// Command migrate applies UdaConnect's database migrations to DATABASE_URL
// and, with -seed, loads the demo data. It is safe to run twice; in the
// cluster the migration Job runs it, and nothing else migrates. It gives each
// function's database role the password in PERSONS_DB_PASSWORD,
// LOCATIONS_DB_PASSWORD, CONNECTIONS_DB_PASSWORD and DEADLETTERS_DB_PASSWORD;
// a role without one cannot log in.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/udaconnect/udaconnect/shared/postgres"
)

func main() {
	seed := flag.Bool("seed", false, "also load the demo data (the proof of concept's people and reports)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *seed); err != nil {
		fmt.Fprintln(os.Stderr, "migrate:", err)
		os.Exit(1)
	}
}

// passwordEnv names, for each function's role, the variable of its password.
var passwordEnv = map[string]string{
	postgres.RolePersons:     "PERSONS_DB_PASSWORD",
	postgres.RoleLocations:   "LOCATIONS_DB_PASSWORD",
	postgres.RoleConnections: "CONNECTIONS_DB_PASSWORD",
	postgres.RoleDeadLetters: "DEADLETTERS_DB_PASSWORD",
}

func run(ctx context.Context, seed bool) error {
	db, err := postgres.OpenFromEnv(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	applied, err := db.Migrate(ctx)
	if err != nil {
		return err
	}
	fmt.Printf("migrations applied: %d %v\n", len(applied), applied)
	for role, env := range passwordEnv {
		if password := os.Getenv(env); password != "" {
			if err := db.SetPassword(ctx, role, password); err != nil {
				return err
			}
		}
	}
	if seed {
		if err := db.Seed(ctx); err != nil {
			return err
		}
		fmt.Println("demo data loaded")
	}
	return nil
}
