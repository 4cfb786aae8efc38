package app

import (
	"github.com/vigil-siem/vigil/internal/logtype/cloudtrail"
	"github.com/vigil-siem/vigil/internal/logtype/guardduty"
	"github.com/vigil-siem/vigil/internal/logtype/linux"
	"github.com/vigil-siem/vigil/internal/logtype/route53resolver"
	"github.com/vigil-siem/vigil/internal/logtype/securityhub"
	"github.com/vigil-siem/vigil/internal/logtype/vpcflowlogs"
	"github.com/vigil-siem/vigil/internal/normalize"
)

// Scripts returns the per-log-type transforms (es-loader's sf_<type>.py),
// keyed by log type name. This is the one place where they are registered.
func Scripts() map[string]normalize.Script {
	return map[string]normalize.Script{
		"cloudtrail":      cloudtrail.Script{},
		"vpcflowlogs":     vpcflowlogs.Script{},
		"guardduty":       guardduty.Script{},
		"securityhub":     securityhub.Script{},
		"route53resolver": route53resolver.Script{},
		"linux-secure":    linux.SecureScript{},
		"linux-os-syslog": linux.SyslogScript{},
	}
}
