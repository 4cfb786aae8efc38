module github.com/vigil-siem/vigil

go 1.26.8

// Versions are pinned to releases the module proxy serves here; newer ones
// may be refused.
require (
	github.com/klauspost/compress v1.18.0 // gzip and zstd, faster than the standard library's
	github.com/valyala/fastjson v1.6.4 // parses a record only where a transform asks for a whole value
	go.uber.org/goleak v1.3.0
	golang.org/x/sync v0.16.0
	golang.org/x/term v0.33.0
	gopkg.in/yaml.v3 v3.0.1
)

require (
	github.com/kr/text v0.2.0 // indirect
	github.com/stretchr/testify v1.8.4 // indirect
	golang.org/x/sys v0.34.0 // indirect
)
