// Command vigil is the Vigil SIEM log pipeline: it loads AWS security logs,
// normalizes them to ECS and writes them to a sink. Everything but argument
// dispatch lives in internal/app.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/vigil-siem/vigil/internal/app"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := app.Main(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
