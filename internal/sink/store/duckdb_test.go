//go:build cgo

package store

import (
	"context"
	"testing"

	"github.com/vigil-siem/vigil/internal/event"
	"github.com/vigil-siem/vigil/internal/store"
	"github.com/vigil-siem/vigil/internal/store/duckdb"
)

// TestSinkIntoDuckDB runs the sink against the real store: a replay of the
// same documents keeps the count, and a malformed document is dead-lettered
// while the others of its write are stored.
func TestSinkIntoDuckDB(t *testing.T) {
	ctx := context.Background()
	st, err := duckdb.Open(ctx, t.TempDir(), duckdb.Options{Threads: 1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	dl := &memDeadLetter{}
	for round := range 2 {
		s := New(st, nil, WithDeadLetter(dl), WithLimits(7, 0, 0))
		var sum event.Summary
		ack := event.NewAck(func(s event.Summary) { sum = s })
		for i := range 4 {
			b := batch(i*5, 5, ack)
			if i == 2 {
				b.Docs[0].Source = []byte(`{"n":`)
			}
			if err := s.Write(ctx, b); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.Close(ctx); err != nil {
			t.Fatal(err)
		}
		ack.Close()
		if sum != (event.Summary{Delivered: 19, DeadLettered: 1}) {
			t.Fatalf("round %d: summary %+v", round, sum)
		}
		r, err := st.Aggregate(ctx, store.AggRequest{Kind: store.AggCount})
		if err != nil {
			t.Fatal(err)
		}
		if r.Value != 19 {
			t.Fatalf("round %d: %v documents stored, want 19", round, r.Value)
		}
	}
	if len(dl.got) != 2 {
		t.Fatalf("dead letters %+v", dl.got)
	}
}
