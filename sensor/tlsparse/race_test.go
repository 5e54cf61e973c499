//go:build race

package tlsparse

const raceEnabled = true
