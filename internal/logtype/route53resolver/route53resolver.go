// Package route53resolver holds what is particular to Route 53 Resolver
// query logs: domain names lose the trailing dot of their fully qualified
// form, so that they match the names other logs and indicator lists use,
// and the querying instance, which the service writes under srcids, becomes
// cloud.instance.id.
package route53resolver

import (
	"strings"

	"github.com/vigil-siem/vigil/internal/normalize"
)

// Script is the route53resolver transform.
type Script struct{}

// instancePath is where the service writes the id of the querying
// instance.
const instancePath = "srcids.instance"

// Paths lists the record fields the transform reads.
func (Script) Paths() []string { return []string{instancePath} }

// Transform trims the trailing dots of dns.question.name and
// dns.answers.data, and sets cloud.instance.id from srcids.instance when
// the type's mapping did not set it.
func (Script) Transform(d *normalize.Doc) error {
	if !d.ECS.Has("cloud.instance.id") {
		if id := d.Str(instancePath); id != "" {
			d.ECS.SetString("cloud.instance.id", id)
		}
	}
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
