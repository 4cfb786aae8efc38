package event

import "testing"

func TestAckResolvesOnceAfterClose(t *testing.T) {
	var got []Summary
	a := NewAck(func(s Summary) { got = append(got, s) })
	a.Add(3)
	a.Done(Delivered)
	a.Done(Filtered)
	a.Done(DeadLettered)
	if len(got) != 0 {
		t.Fatalf("resolved before Close: %v", got)
	}
	a.Close()
	a.Close()
	if len(got) != 1 || got[0] != (Summary{1, 1, 1}) {
		t.Fatalf("got %v", got)
	}
}

func TestAckResolvesAfterLastDone(t *testing.T) {
	n := 0
	a := NewAck(func(Summary) { n++ })
	a.Add(1)
	a.Close()
	if n != 0 {
		t.Fatal("resolved with a pending document")
	}
	a.Done(Delivered)
	if n != 1 {
		t.Fatal("not resolved after last document")
	}
}

func TestEmptyAckResolvesOnClose(t *testing.T) {
	n := 0
	NewAck(func(Summary) { n++ }).Close()
	if n != 1 {
		t.Fatal("empty token did not resolve")
	}
}
