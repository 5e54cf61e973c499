//go:build !race

package httpparse

const raceEnabled = false
