// Command apitap is a passive API-traffic sensor. It reads captures (or,
// as a daemon, live traffic), finds every HTTP API exchange, every third
// party called, and the sensitive data that flows to each, and reports them.
//
// This file holds only the entry point and the command table; each command
// lives in a file of its own and does no analysis itself.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

// usageError marks a mistake in the command line: it exits with status 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

type command struct {
	name    string
	summary string
	run     func(args []string, stdout, stderr io.Writer) error
}

var commands []command

func init() {
	commands = []command{
		{"read", "read a capture file (or - for stdin) and report what it shows", runRead},
		{"vendors", "list or search the embedded vendor catalog", runVendors},
		{"run", "capture live traffic as a daemon and ship findings (SIGHUP reloads)", runRun},
		{"config", "check a configuration file, or print the commented example", runConfig},
		{"aggregate", "merge many sensors' Kafka output into fleet-wide inventory and findings", runAggregate},
		{"version", "print the version", func([]string, io.Writer, io.Writer) error {
			fmt.Println("apitap", version)
			return nil
		}},
	}
}

func main() {
	err := run(os.Args[1:], os.Stdout, os.Stderr)
	if err == nil {
		return
	}
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	fmt.Fprintf(os.Stderr, "apitap: %v\n", err)
	var ue *usageError
	if errors.As(err, &ue) {
		os.Exit(2)
	}
	os.Exit(1)
}

func run(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(stderr)
		if len(args) == 0 {
			return &usageError{"no command given"}
		}
		return nil
	}
	for _, c := range commands {
		if c.name == args[0] {
			return c.run(args[1:], stdout, stderr)
		}
	}
	usage(stderr)
	return &usageError{fmt.Sprintf("unknown command %q", args[0])}
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: apitap <command> [flags]\n\ncommands:")
	for _, c := range commands {
		fmt.Fprintf(w, "  %-10s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun 'apitap <command> -h' for the flags of a command.")
}

// stringList is a flag that may be repeated.
type stringList []string

func (s *stringList) String() string     { return fmt.Sprint(*s) }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }
