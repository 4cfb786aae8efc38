package notify

import (
	"fmt"
	"mime"
)

type mimeDecoder = mime.WordDecoder

func fmtAll(v any) string {
	return fmt.Sprintf("%v %s %+v %#v %q", v, v, v, v, v)
}
