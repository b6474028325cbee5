// Command conference stores a synthetic conference in DATABASE_URL: attendees
// walking between booths and talks, reporting every few minutes. The same
// flags give the same conference; running it twice stores nothing new.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/udaconnect/udaconnect/shared/conference"
	"github.com/udaconnect/udaconnect/shared/detection"
	"github.com/udaconnect/udaconnect/shared/postgres"
)

func main() {
	c := conference.Default
	flag.IntVar(&c.Attendees, "attendees", c.Attendees, "number of attendees")
	flag.IntVar(&c.Booths, "booths", c.Booths, "number of booths (0: one for every 10 attendees)")
	flag.IntVar(&c.Talks, "talks", c.Talks, "number of talk rooms (0: one for every 500 attendees)")
	flag.IntVar(&c.Days, "days", c.Days, "number of days, 09:00 to 17:00 UTC")
	flag.DurationVar(&c.Interval, "interval", c.Interval, "time between two reports of an attendee")
	flag.Uint64Var(&c.Seed, "seed", c.Seed, "random seed")
	meetings := flag.Bool("meetings", true, "detect the meetings too, as connections would, unless a running connections owns zone 0 and detects them itself")
	start := flag.String("start", c.Start.Format(time.DateOnly), "first day, YYYY-MM-DD")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, c, *start, *meetings); err != nil {
		fmt.Fprintln(os.Stderr, "conference:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, c conference.Config, start string, meetings bool) error {
	var err error
	if c.Start, err = time.Parse(time.DateOnly, start); err != nil {
		return fmt.Errorf("-start: %w", err)
	}
	if c.Attendees < 1 || c.Days < 1 || c.Booths < 0 || c.Talks < 0 || c.Interval < time.Second {
		return fmt.Errorf("-attendees and -days must be at least 1, -booths and -talks not negative, -interval at least 1s")
	}
	db, err := postgres.OpenFromEnv(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	began := time.Now()
	total := c.Attendees * c.ReportsPerAttendee()
	fmt.Printf("storing %d attendees and %d reports\n", c.Attendees, total)
	last := time.Now()
	_, err = conference.Load(ctx, db, c, func(done, total int) {
		if time.Since(last) > time.Second || done == total {
			fmt.Printf("  %d/%d reports (%.0f%%), %.0f reports/s\n", done, total, 100*float64(done)/float64(total), float64(done)/time.Since(began).Seconds())
			last = time.Now()
		}
	})
	if err != nil {
		return err
	}
	if meetings {
		fmt.Println("detecting the meetings")
		mine, err := detection.DrainZone(ctx, db, 0, detection.Params())
		if err != nil {
			return err
		}
		if !mine {
			fmt.Println("  a running connections owns the zone and detects them")
		}
	}
	fmt.Printf("done in %s\n", time.Since(began).Round(time.Millisecond))
	return nil
}
