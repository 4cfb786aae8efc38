// Package vpcflowlogs holds what is particular to VPC Flow Logs documents:
// the outcome of the flow, the transport protocol name and the address
// family, added after the generic ECS mapping.
package vpcflowlogs

import (
	"strings"

	"github.com/vigil-siem/vigil/internal/normalize"
)

// transports maps IANA protocol numbers, as flow logs write them, to the
// ECS network.transport names.
var transports = map[string]string{
	"1": "icmp", "6": "tcp", "8": "egp", "17": "udp", "33": "dccp",
	"41": "ipv6", "42": "sdrp", "47": "gre", "58": "ipv6-icmp", "132": "sctp",
}

// Script is the vpcflowlogs transform.
type Script struct{}

// Paths lists the record fields the transform reads.
func (Script) Paths() []string { return []string{"resource_type", "protocol"} }

// Transform sets event.outcome, network.transport and network.type.
func (Script) Transform(d *normalize.Doc) error {
	if rt := d.View("resource_type"); rt != "" {
		// Transit Gateway flow logs share the format.
		d.ECS.SetString("@log_type", "transit-gateway")
	} else {
		action := d.ECS.View("event.action")
		switch {
		case strings.Contains(action, "ACCEPT"):
			d.ECS.SetString("event.outcome", "success")
		case strings.Contains(action, "REJECT"):
			d.ECS.SetString("event.outcome", "failure")
		default:
			d.ECS.SetString("event.outcome", "unknown")
		}
	}
	if t, ok := transports[d.View("protocol")]; ok {
		d.ECS.SetString("network.transport", t)
	}
	if typ := d.ECS.View("network.type"); typ != "" {
		d.ECS.SetString("network.type", strings.ToLower(typ))
	}
	return nil
}
