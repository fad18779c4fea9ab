// Command pulumi-resource-command is a stand-in for the @pulumi/command
// provider plugin. Its source module is not served by the module proxy this
// project can reach, so this implements the part of it the project uses with
// the same resource token and properties: local.Command (create, update,
// delete, dir, environment, interpreter, stdin, triggers,
// addPreviousOutputInEnv) and the local.run invoke. Remote commands and
// asset/archive capture are refused with a clear error.
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"

	"okome-cache/toolchain/internal/serve"
)

// version is set at build time to the @pulumi/command npm version it serves.
var version = "0.0.0-dev"

const (
	commandToken = "command:local:Command"
	runToken     = "command:local:run"
)

var marshalOpts = plugin.MarshalOptions{
	KeepUnknowns: true, KeepSecrets: true, ComputeAssetHashes: true, SkipNulls: true,
}

type provider struct {
	pulumirpc.UnimplementedResourceProviderServer
}

func main() {
	serve.Main(func(srv *grpc.Server, _ string) error {
		pulumirpc.RegisterResourceProviderServer(srv, &provider{})
		return nil
	})
}

func (p *provider) GetPluginInfo(context.Context, *emptypb.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: version}, nil
}

func (p *provider) GetSchema(context.Context, *pulumirpc.GetSchemaRequest) (*pulumirpc.GetSchemaResponse, error) {
	return &pulumirpc.GetSchemaResponse{Schema: fmt.Sprintf(`{"name":"command","version":%q}`, version)}, nil
}

func (p *provider) CheckConfig(_ context.Context, req *pulumirpc.CheckRequest) (*pulumirpc.CheckResponse, error) {
	return &pulumirpc.CheckResponse{Inputs: req.GetNews()}, nil
}

func (p *provider) DiffConfig(context.Context, *pulumirpc.DiffRequest) (*pulumirpc.DiffResponse, error) {
	return &pulumirpc.DiffResponse{Changes: pulumirpc.DiffResponse_DIFF_NONE}, nil
}

func (p *provider) Configure(context.Context, *pulumirpc.ConfigureRequest) (*pulumirpc.ConfigureResponse, error) {
	return &pulumirpc.ConfigureResponse{AcceptSecrets: true, SupportsPreview: true}, nil
}

func (p *provider) Cancel(context.Context, *emptypb.Empty) (*emptypb.Empty, error) {
	return &emptypb.Empty{}, nil
}

func (p *provider) Check(_ context.Context, req *pulumirpc.CheckRequest) (*pulumirpc.CheckResponse, error) {
	if err := checkType(req.GetUrn()); err != nil {
		return nil, err
	}
	news, err := plugin.UnmarshalProperties(req.GetNews(), marshalOpts)
	if err != nil {
		return nil, err
	}
	var failures []*pulumirpc.CheckFailure
	for _, k := range []resource.PropertyKey{"assetPaths", "archivePaths"} {
		if v, ok := news[k]; ok && !unwrap(v).IsNull() {
			failures = append(failures, &pulumirpc.CheckFailure{
				Property: string(k), Reason: "not supported by this project's command provider build",
			})
		}
	}
	return &pulumirpc.CheckResponse{Inputs: req.GetNews(), Failures: failures}, nil
}

// Diff replaces the resource when triggers change and updates it when any
// other input changes, as the upstream provider does.
func (p *provider) Diff(_ context.Context, req *pulumirpc.DiffRequest) (*pulumirpc.DiffResponse, error) {
	oldStruct := req.GetOldInputs()
	if oldStruct == nil {
		oldStruct = req.GetOlds()
	}
	olds, err := plugin.UnmarshalProperties(oldStruct, marshalOpts)
	if err != nil {
		return nil, err
	}
	news, err := plugin.UnmarshalProperties(req.GetNews(), marshalOpts)
	if err != nil {
		return nil, err
	}
	resp := &pulumirpc.DiffResponse{Changes: pulumirpc.DiffResponse_DIFF_NONE, HasDetailedDiff: true}
	resp.DetailedDiff = map[string]*pulumirpc.PropertyDiff{}
	keys := map[resource.PropertyKey]bool{}
	for k := range olds {
		keys[k] = true
	}
	for k := range news {
		keys[k] = true
	}
	for k := range keys {
		if k == "stdout" || k == "stderr" {
			continue
		}
		o, hasOld := olds[k]
		n, hasNew := news[k]
		if hasOld && hasNew && !n.ContainsUnknowns() && o.DeepEquals(n) {
			continue
		}
		kind := pulumirpc.PropertyDiff_UPDATE
		switch {
		case !hasOld:
			kind = pulumirpc.PropertyDiff_ADD
		case !hasNew:
			kind = pulumirpc.PropertyDiff_DELETE
		}
		if k == "triggers" {
			kind++ // each *_REPLACE kind directly follows its plain kind
			resp.Replaces = append(resp.Replaces, string(k))
		}
		resp.Changes = pulumirpc.DiffResponse_DIFF_SOME
		resp.Diffs = append(resp.Diffs, string(k))
		resp.DetailedDiff[string(k)] = &pulumirpc.PropertyDiff{Kind: kind, InputDiff: true}
	}
	return resp, nil
}

func (p *provider) Create(ctx context.Context, req *pulumirpc.CreateRequest) (*pulumirpc.CreateResponse, error) {
	if err := checkType(req.GetUrn()); err != nil {
		return nil, err
	}
	inputs, err := plugin.UnmarshalProperties(req.GetProperties(), marshalOpts)
	if err != nil {
		return nil, err
	}
	id := make([]byte, 8)
	if _, err := rand.Read(id); err != nil {
		return nil, err
	}
	outputs, err := execute(ctx, inputs, str(inputs, "create"), nil, req.GetPreview())
	if err != nil {
		return nil, err
	}
	props, err := plugin.MarshalProperties(outputs, marshalOpts)
	if err != nil {
		return nil, err
	}
	return &pulumirpc.CreateResponse{Id: hex.EncodeToString(id), Properties: props}, nil
}

func (p *provider) Update(ctx context.Context, req *pulumirpc.UpdateRequest) (*pulumirpc.UpdateResponse, error) {
	olds, err := plugin.UnmarshalProperties(req.GetOlds(), marshalOpts)
	if err != nil {
		return nil, err
	}
	news, err := plugin.UnmarshalProperties(req.GetNews(), marshalOpts)
	if err != nil {
		return nil, err
	}
	command := str(news, "update")
	if _, ok := news["update"]; !ok {
		command = str(news, "create")
	}
	outputs, err := execute(ctx, news, command, olds, req.GetPreview())
	if err != nil {
		return nil, err
	}
	props, err := plugin.MarshalProperties(outputs, marshalOpts)
	if err != nil {
		return nil, err
	}
	return &pulumirpc.UpdateResponse{Properties: props}, nil
}

func (p *provider) Delete(ctx context.Context, req *pulumirpc.DeleteRequest) (*emptypb.Empty, error) {
	state, err := plugin.UnmarshalProperties(req.GetProperties(), marshalOpts)
	if err != nil {
		return nil, err
	}
	if command := str(state, "delete"); command != "" {
		if _, err := execute(ctx, state, command, state, false); err != nil {
			return nil, err
		}
	}
	return &emptypb.Empty{}, nil
}

// Read keeps the recorded state: a command's effects cannot be observed.
func (p *provider) Read(_ context.Context, req *pulumirpc.ReadRequest) (*pulumirpc.ReadResponse, error) {
	return &pulumirpc.ReadResponse{Id: req.GetId(), Properties: req.GetProperties(), Inputs: req.GetInputs()}, nil
}

func (p *provider) Invoke(ctx context.Context, req *pulumirpc.InvokeRequest) (*pulumirpc.InvokeResponse, error) {
	if req.GetTok() != runToken {
		return nil, status.Errorf(codes.Unimplemented, "%s is not supported by this project's command provider build", req.GetTok())
	}
	args, err := plugin.UnmarshalProperties(req.GetArgs(), marshalOpts)
	if err != nil {
		return nil, err
	}
	outputs, err := execute(ctx, args, str(args, "command"), nil, false)
	if err != nil {
		return nil, err
	}
	ret, err := plugin.MarshalProperties(outputs, marshalOpts)
	if err != nil {
		return nil, err
	}
	return &pulumirpc.InvokeResponse{Return: ret}, nil
}

func checkType(urn string) error {
	if t := resource.URN(urn).Type(); string(t) != commandToken {
		return status.Errorf(codes.Unimplemented, "%s is not supported by this project's command provider build", t)
	}
	return nil
}

// execute runs command and returns inputs plus stdout and stderr. prev holds
// the previous outputs exposed as PULUMI_COMMAND_STDOUT/STDERR. In preview,
// or when an input is still unknown, the outputs are unknown.
func execute(
	ctx context.Context, inputs resource.PropertyMap, command string, prev resource.PropertyMap, preview bool,
) (resource.PropertyMap, error) {
	outputs := inputs.Copy()
	if preview || resource.NewObjectProperty(inputs).ContainsUnknowns() {
		outputs["stdout"] = resource.MakeComputed(resource.NewStringProperty(""))
		outputs["stderr"] = resource.MakeComputed(resource.NewStringProperty(""))
		return outputs, nil
	}
	var stdout, stderr string
	if command != "" {
		interpreter := strList(inputs, "interpreter")
		if len(interpreter) == 0 {
			interpreter = []string{"/bin/sh", "-c"}
		}
		cmd := exec.CommandContext(ctx, interpreter[0], append(interpreter[1:], command)...)
		cmd.Dir = str(inputs, "dir")
		cmd.Env = os.Environ()
		for k, v := range strMap(inputs, "environment") {
			cmd.Env = append(cmd.Env, k+"="+v)
		}
		if prev != nil && boolOr(inputs, "addPreviousOutputInEnv", true) {
			cmd.Env = append(cmd.Env,
				"PULUMI_COMMAND_STDOUT="+str(prev, "stdout"), "PULUMI_COMMAND_STDERR="+str(prev, "stderr"))
		}
		cmd.Stdin = strings.NewReader(str(inputs, "stdin"))
		var outBuf, errBuf bytes.Buffer
		cmd.Stdout, cmd.Stderr = &outBuf, &errBuf
		runErr := cmd.Run()
		stdout = strings.TrimSuffix(outBuf.String(), "\n")
		stderr = strings.TrimSuffix(errBuf.String(), "\n")
		if runErr != nil {
			return nil, fmt.Errorf("%w: running %q:\n%s\n%s", runErr, command, stdout, stderr)
		}
	}
	// Command output may echo secret inputs, so it is secret whenever they are.
	wrap := func(s string) resource.PropertyValue {
		v := resource.NewStringProperty(s)
		if resource.NewObjectProperty(inputs).ContainsSecrets() {
			return resource.MakeSecret(v)
		}
		return v
	}
	outputs["stdout"] = wrap(stdout)
	outputs["stderr"] = wrap(stderr)
	return outputs, nil
}

func unwrap(v resource.PropertyValue) resource.PropertyValue {
	for v.IsSecret() {
		v = v.SecretValue().Element
	}
	return v
}

func str(m resource.PropertyMap, key resource.PropertyKey) string {
	if v := unwrap(m[key]); v.IsString() {
		return v.StringValue()
	}
	return ""
}

func boolOr(m resource.PropertyMap, key resource.PropertyKey, def bool) bool {
	if v := unwrap(m[key]); v.IsBool() {
		return v.BoolValue()
	}
	return def
}

func strList(m resource.PropertyMap, key resource.PropertyKey) []string {
	var out []string
	if v := unwrap(m[key]); v.IsArray() {
		for _, e := range v.ArrayValue() {
			if e = unwrap(e); e.IsString() {
				out = append(out, e.StringValue())
			}
		}
	}
	return out
}

func strMap(m resource.PropertyMap, key resource.PropertyKey) map[string]string {
	out := map[string]string{}
	if v := unwrap(m[key]); v.IsObject() {
		for k, e := range v.ObjectValue() {
			if e = unwrap(e); e.IsString() {
				out[string(k)] = e.StringValue()
			}
		}
	}
	return out
}
