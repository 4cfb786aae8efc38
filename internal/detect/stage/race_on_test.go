//go:build race

package stage_test

// raceEnabled: the race detector's sync.Pool drops a quarter of what is
// put back, on purpose, so pooled scratch space is allocated again now and
// then and allocation counts are higher than in a normal build.
const raceEnabled = true
