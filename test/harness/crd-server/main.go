// crd-server: the standalone apiextensions-apiserver (Kubernetes 0.36) for the `crd`
// test tier. It serves CustomResourceDefinitions and custom resources (structural
// schemas, CEL validation, server-side apply, the status subresource) from etcd, and
// nothing else: no core/v1, RBAC, admission or webhooks.
//
// Upstream's main (k8s.io/apiextensions-apiserver/main.go) expects a full cluster
// behind it: it reads Services through a core API client (for conversion webhooks),
// delegates authentication and authorization to kube-apiserver, and runs API
// priority-and-fairness from flowcontrol objects. None of that exists here, so this
// main turns those parts off and keeps the rest of upstream's configuration:
//   - CoreAPI, Admission and priority-and-fairness are off (they need a core client);
//   - authentication is client certificates only (--client-ca-file), no TokenReview
//     and no in-cluster ConfigMap lookup;
//   - authorization admits every authenticated user and nobody else: anonymous
//     requests get 403 (there are no roles to check without RBAC).
//
// Built by scripts/install-infra.sh in GOPATH mode from Debian's Go source packages.
package main

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"os"

	"github.com/spf13/cobra"
	noopoteltrace "go.opentelemetry.io/otel/trace/noop"

	"k8s.io/apiextensions-apiserver/pkg/apiserver"
	"k8s.io/apiextensions-apiserver/pkg/cmd/server/options"
	generatedopenapi "k8s.io/apiextensions-apiserver/pkg/generated/openapi"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	openapinamer "k8s.io/apiserver/pkg/endpoints/openapi"
	genericapiserver "k8s.io/apiserver/pkg/server"
	"k8s.io/apiserver/pkg/util/openapi"
	"k8s.io/apiserver/pkg/util/webhook"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/component-base/cli"
	netutils "k8s.io/utils/net"
)

func main() {
	ctx := genericapiserver.SetupSignalContext()
	os.Exit(cli.Run(newCommand(ctx)))
}

func newCommand(ctx context.Context) *cobra.Command {
	o := options.NewCustomResourceDefinitionsServerOptions(os.Stdout, os.Stderr)
	// The parts that need a core Kubernetes API server.
	o.RecommendedOptions.CoreAPI = nil
	o.RecommendedOptions.Admission = nil
	o.RecommendedOptions.Authorization = nil
	o.RecommendedOptions.Features.EnablePriorityAndFairness = false
	// Client certificates only: no TokenReview client, no kube-system ConfigMap.
	o.RecommendedOptions.Authentication.RemoteKubeConfigFileOptional = true
	o.RecommendedOptions.Authentication.SkipInClusterLookup = true
	o.RecommendedOptions.SecureServing.BindAddress = netutils.ParseIPSloppy("127.0.0.1")

	cmd := &cobra.Command{
		Use:   "crd-server",
		Short: "apiextensions-apiserver without a core API: CRDs and custom resources only",
		PersistentPreRunE: func(*cobra.Command, []string) error {
			return o.ServerRunOptions.ComponentGlobalsRegistry.Set()
		},
		RunE: func(c *cobra.Command, _ []string) error {
			if err := o.Complete(); err != nil {
				return err
			}
			if err := o.Validate(); err != nil {
				return err
			}
			return run(c.Context(), o)
		},
	}
	cmd.SetContext(ctx)
	o.AddFlags(cmd.Flags())
	return cmd
}

func run(ctx context.Context, o *options.CustomResourceDefinitionsServerOptions) error {
	config, err := serverConfig(o)
	if err != nil {
		return err
	}
	completed := config.Complete()
	// Upstream turns discovery off because kube-apiserver's aggregator serves /apis; alone,
	// this server must serve it itself, or kubectl cannot find any resource.
	completed.GenericConfig.EnableDiscovery = true
	server, err := completed.New(genericapiserver.NewEmptyDelegate())
	if err != nil {
		return err
	}
	return server.GenericAPIServer.PrepareRun().RunWithContext(ctx)
}

// serverConfig is upstream's options.Config() without the core API: upstream's builds a
// Service lister from the core informers, which are nil here.
func serverConfig(o *options.CustomResourceDefinitionsServerOptions) (*apiserver.Config, error) {
	if err := o.RecommendedOptions.SecureServing.MaybeDefaultWithSelfSignedCerts("localhost", nil, []net.IP{netutils.ParseIPSloppy("127.0.0.1")}); err != nil {
		return nil, fmt.Errorf("creating self-signed certificates: %w", err)
	}
	recommended := genericapiserver.NewRecommendedConfig(apiserver.Codecs)
	if err := o.ServerRunOptions.ApplyTo(&recommended.Config); err != nil {
		return nil, err
	}
	if err := o.RecommendedOptions.ApplyTo(recommended); err != nil {
		return nil, err
	}
	if err := o.APIEnablement.ApplyTo(&recommended.Config, apiserver.DefaultAPIResourceConfigSource(), apiserver.Scheme); err != nil {
		return nil, err
	}
	recommended.Authorization.Authorizer = authenticatedOnly{}
	recommended.OpenAPIV3Config = genericapiserver.DefaultOpenAPIV3Config(
		openapi.GetOpenAPIDefinitionsWithoutDisabledFeatures(generatedopenapi.GetOpenAPIDefinitions),
		openapinamer.NewDefinitionNamer(apiserver.Scheme, scheme.Scheme))
	// kubectl explain and client-side validation read /openapi/v2 as well.
	recommended.OpenAPIConfig = genericapiserver.DefaultOpenAPIConfig(
		openapi.GetOpenAPIDefinitionsWithoutDisabledFeatures(generatedopenapi.GetOpenAPIDefinitions),
		openapinamer.NewDefinitionNamer(apiserver.Scheme, scheme.Scheme))

	return &apiserver.Config{
		GenericConfig: recommended,
		ExtraConfig: apiserver.ExtraConfig{
			CRDRESTOptionsGetter: options.NewCRDRESTOptionsGetter(*o.RecommendedOptions.Etcd, recommended.ResourceTransformers, recommended.StorageObjectCountTracker),
			ServiceResolver:      noServices{},
			AuthResolverWrapper:  webhook.NewDefaultAuthenticationInfoResolverWrapper(nil, nil, recommended.LoopbackClientConfig, noopoteltrace.NewTracerProvider()),
		},
	}, nil
}

// noServices answers conversion-webhook lookups: without a core API there are no Services.
type noServices struct{}

func (noServices) ResolveEndpoint(namespace, name string, port int32) (*url.URL, error) {
	return nil, fmt.Errorf("service %s/%s:%d: this server has no core API, so no Services (conversion webhooks must use a URL)", namespace, name, port)
}

// authenticatedOnly allows any request from an authenticated user (a client certificate
// signed by --client-ca-file, or the server's own loopback client) and nothing else.
type authenticatedOnly struct{}

func (authenticatedOnly) Authorize(_ context.Context, a authorizer.Attributes) (authorizer.Decision, string, error) {
	if a.GetUser() == nil {
		return authorizer.DecisionNoOpinion, "no user", nil
	}
	for _, group := range a.GetUser().GetGroups() {
		if group == user.AllAuthenticated {
			return authorizer.DecisionAllow, "", nil
		}
	}
	return authorizer.DecisionNoOpinion, "only authenticated users may use this server", nil
}
