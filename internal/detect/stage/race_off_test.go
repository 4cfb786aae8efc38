//go:build !race

package stage_test

// raceEnabled: see race_on_test.go.
const raceEnabled = false
