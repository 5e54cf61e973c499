package main

import (
	"fmt"
	"io"

	"github.com/apitap/apitap/sensor/config"
)

// runConfig is `apitap config check FILE` and `apitap config example`.
func runConfig(args []string, stdout, stderr io.Writer) error {
	usage := func() {
		fmt.Fprintln(stderr, "usage: apitap config check FILE   validate a configuration file\n"+
			"       apitap config example      print a commented example configuration")
	}
	if len(args) == 0 {
		usage()
		return &usageError{"config: want check or example"}
	}
	switch args[0] {
	case "-h", "--help", "help":
		usage()
		return nil
	case "example":
		if len(args) != 1 {
			return &usageError{"config example takes no arguments"}
		}
		_, err := stdout.Write(config.Example())
		return err
	case "check":
		if len(args) != 2 {
			usage()
			return &usageError{"config check: want exactly one FILE"}
		}
		if err := config.Check(args[1]); err != nil {
			// The errors already name the file and line of each problem.
			fmt.Fprintln(stdout, err)
			return fmt.Errorf("%s: configuration is not valid", args[1])
		}
		fmt.Fprintln(stdout, "ok")
		return nil
	}
	usage()
	return &usageError{fmt.Sprintf("config: unknown subcommand %q", args[0])}
}
