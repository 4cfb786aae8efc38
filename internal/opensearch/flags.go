package opensearch

import (
	"flag"
	"time"
)

// AddFlags adds the connection flags every command that talks to a cluster
// takes (--opensearch URL, --user, --password, --aws-service, --aws-region,
// --ca-cert, --insecure, --opensearch-timeout) and returns a function that,
// after fs.Parse, builds the Config: a flag that was set wins over the
// environment (FromEnv with getenv, os.Getenv when nil). Prefer the
// environment or the AWS credential chain to a password on the command
// line, where other users of the machine may read it.
func AddFlags(fs *flag.FlagSet, getenv func(string) string) func() Config {
	var (
		url, user, pass, svc, region, ca string
		insecure                         bool
		timeout                          time.Duration
	)
	fs.StringVar(&url, "opensearch", "", "cluster URL (default $"+EnvEndpoint+")")
	fs.StringVar(&user, "user", "", "basic-auth user (default $"+EnvUsername+")")
	fs.StringVar(&pass, "password", "", "basic-auth password (default $"+EnvPassword+")")
	fs.StringVar(&svc, "aws-service", "", "SigV4 service: es, aoss or none (default: from the host name)")
	fs.StringVar(&region, "aws-region", "", "SigV4 region (default: $"+EnvAWSRegion+", then $"+EnvAWSDefaultRegion+", then the host name's)")
	fs.StringVar(&ca, "ca-cert", "", "PEM file of certificate authorities to trust (default $"+EnvCACert+")")
	fs.BoolVar(&insecure, "insecure", false, "do not verify the cluster's TLS certificate")
	fs.DurationVar(&timeout, "opensearch-timeout", 0, "bound on one HTTP call (default 60s)")
	return func() Config {
		set := map[string]bool{}
		fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
		c := FromEnv(url, getenv)
		if set["user"] {
			c.Username = user
		}
		if set["password"] {
			c.Password = pass
		}
		if set["aws-service"] {
			c.AWSService = svc
		}
		if set["aws-region"] {
			c.AWSRegion = region
		}
		if set["ca-cert"] {
			c.CACertFile = ca
		}
		if set["insecure"] {
			c.InsecureSkipVerify = insecure
		}
		c.Timeout = timeout
		return c
	}
}
