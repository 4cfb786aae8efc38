// Package route53resolver holds what is particular to Route 53 Resolver
// query logs: domain names lose the trailing dot of their fully qualified
// form, so that they match the names other logs and indicator lists use.
package route53resolver

import (
	"strings"

	"github.com/vigil-siem/vigil/internal/normalize"
)

// Script is the route53resolver transform.
type Script struct{}

// Paths lists the record fields the transform reads: none, it works on the
// mapped fields.
func (Script) Paths() []string { return nil }

// Transform trims the trailing dots of dns.question.name and
// dns.answers.data.
func (Script) Transform(d *normalize.Doc) error {
	for _, f := range [...]string{"dns.question.name", "dns.answers.data"} {
		if d.ECS.Raw(f) == nil {
			continue
		}
		s := d.ECS.String(f)
		if t := strings.TrimRight(s, "."); t != s {
			d.ECS.SetString(f, t)
		}
	}
	return nil
}
