//go:build !cgo

package app

import (
	"context"
	"errors"
	"log/slog"

	"github.com/vigil-siem/vigil/internal/store"
)

var errNoStore = errors.New("this build of Vigil has no embedded store (it was built without cgo); use --sink opensearch:URL or --sink ndjson:FILE")

func openStore(context.Context, string, bool, string, *slog.Logger) (store.Store, error) {
	return nil, errNoStore
}

func storeHolder(string) (int, string, string, bool) { return 0, "", "", false }
