package udaconnect

import (
	"encoding/json"
	"time"
)

// A DeadLetter is an event the Broker could not deliver: its final answer
// and destination, and the event itself, structured, to replay it.
type DeadLetter struct {
	ID          int64           `json:"id"`
	Source      string          `json:"source"`
	EventID     string          `json:"event_id"`
	Type        string          `json:"type"`
	Destination string          `json:"destination"`
	Status      *int            `json:"status"`
	Event       json.RawMessage `json:"event"`
	ReceivedAt  time.Time       `json:"received_at"`
	ReplayedAt  *time.Time      `json:"replayed_at"`
}
