// Command gen writes Vigil's OpenSearch templates, ISM policies and
// dashboards for the built-in log types to a folder (deploy/opensearch), for
// manual installation. Run it with go generate in internal/opensearch/setup;
// a test there fails when the folder is out of date.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/vigil-siem/vigil/internal/logtype"
	"github.com/vigil-siem/vigil/internal/opensearch/setup"
)

func main() {
	out := flag.String("out", "", "folder to write (required)")
	flag.Parse()
	if *out == "" {
		fmt.Fprintln(os.Stderr, "gen: -out is required")
		os.Exit(2)
	}
	if err := run(*out); err != nil {
		fmt.Fprintf(os.Stderr, "gen: %v\n", err)
		os.Exit(1)
	}
}

func run(out string) error {
	reg, err := logtype.Load()
	if err != nil {
		return err
	}
	p, err := setup.NewPlan(reg, setup.DeployOptions())
	if err != nil {
		return err
	}
	files, err := setup.Export(p)
	if err != nil {
		return err
	}
	return setup.WriteExport(out, files)
}
