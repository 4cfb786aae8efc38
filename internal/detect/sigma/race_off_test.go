//go:build !race

package sigma

// raceEnabled: see race_on_test.go.
const raceEnabled = false
