package notify

import "time"

// tokenBucket is a destination's rate limit on the wall clock: rate tokens
// per second, at most burst stored. It is owned by the destination's worker
// (not safe for concurrent use).
type tokenBucket struct {
	rate   float64 // tokens per second; <= 0 means unlimited
	burst  float64
	tokens float64
	last   time.Time
	now    func() time.Time
}

func newTokenBucket(perMinute float64, burst int, now func() time.Time) *tokenBucket {
	return &tokenBucket{rate: perMinute / 60, burst: float64(burst), tokens: float64(burst), now: now}
}

// take takes one token and returns how long to wait before using it (0
// when one was available). A negative balance records the debt, so
// callers that wait the returned time stay within the rate.
func (b *tokenBucket) take() time.Duration {
	if b.rate <= 0 {
		return 0
	}
	now := b.now()
	if !b.last.IsZero() {
		b.tokens += now.Sub(b.last).Seconds() * b.rate
		if b.tokens > b.burst {
			b.tokens = b.burst
		}
	}
	b.last = now
	b.tokens--
	if b.tokens >= 0 {
		return 0
	}
	return time.Duration(-b.tokens / b.rate * float64(time.Second))
}
