//go:build cgo

package app

import (
	"context"
	"log/slog"
	"os"

	"github.com/vigil-siem/vigil/internal/store"
	"github.com/vigil-siem/vigil/internal/store/duckdb"
)

// openStore opens the embedded store in dir. serveAddr, when set, is
// recorded in the lock so other commands can find the running server.
func openStore(ctx context.Context, dir string, readOnly bool, serveAddr string, logger *slog.Logger) (store.Store, error) {
	cmd := "vigil"
	if len(os.Args) > 1 {
		cmd += " " + os.Args[1] // the command, as the lock names the holder
	}
	return duckdb.Open(ctx, dir, duckdb.Options{ReadOnly: readOnly, ServeAddr: serveAddr, Command: cmd}, logger)
}

// storeHolder reports the process holding the store in dir, if any.
func storeHolder(dir string) (pid int, cmd, addr string, ok bool) {
	return duckdb.LockHolder(dir)
}
