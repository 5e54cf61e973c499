//go:build race

package httpparse

const raceEnabled = true
