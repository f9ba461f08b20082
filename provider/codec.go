package provider

import (
	"context"
	"reflect"
	"sync"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types/basetypes"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
)

// modelCodec converts between a resource's model struct and the
// tftypes.Value Terraform sends, for models whose fields are all attr.Value
// types (types.String, types.List, types.Object...) tagged `tfsdk:"name"`.
//
// It does what tfsdk.State.Get and Set do, once per value: the framework's
// reflection re-validates every struct tag with a regular expression and
// rebuilds the schema's attribute map at every step of every path it walks,
// which profiling showed as a fifth of the provider's CPU in a plan of 300
// resources. The field layout and types are worked out once per model type
// and schema; any value the fast path cannot take as it is (a null object, a
// field whose value has another type than the schema's) goes through the
// framework instead, so results never differ.
type modelCodec[T any] struct {
	once    sync.Once
	ok      bool
	objType tftypes.Object
	fields  []codecField
}

type codecField struct {
	index    int
	name     string
	attrType attr.Type
	tfType   tftypes.Type
}

// schemaTyper is what the codec needs of a schema: tfsdk.State.Schema and
// friends satisfy it.
type schemaTyper interface {
	Type() attr.Type
}

func (c *modelCodec[T]) init(ctx context.Context, s schemaTyper) {
	c.once.Do(func() {
		obj, isObj := s.Type().(basetypes.ObjectType)
		if !isObj {
			return
		}
		c.objType, isObj = obj.TerraformType(ctx).(tftypes.Object)
		if !isObj {
			return
		}
		rt := reflect.TypeFor[T]()
		if rt.Kind() != reflect.Struct {
			return
		}
		valueIface := reflect.TypeFor[attr.Value]()
		for i := range rt.NumField() {
			f := rt.Field(i)
			name := f.Tag.Get("tfsdk")
			if name == "" || name == "-" || !f.IsExported() || !f.Type.Implements(valueIface) {
				return
			}
			at, found := obj.AttrTypes[name]
			if !found || reflect.TypeOf(at.ValueType(ctx)) != f.Type {
				return
			}
			c.fields = append(c.fields, codecField{index: i, name: name, attrType: at, tfType: at.TerraformType(ctx)})
		}
		c.ok = len(c.fields) == len(obj.AttrTypes)
	})
}

// decode fills target from raw; handled is false when the framework must
// do it instead.
func (c *modelCodec[T]) decode(ctx context.Context, s schemaTyper, raw tftypes.Value, target *T) (handled bool) {
	c.init(ctx, s)
	if !c.ok || !raw.IsKnown() || raw.IsNull() || !raw.Type().Equal(c.objType) {
		return false
	}
	var attrs map[string]tftypes.Value
	if err := raw.As(&attrs); err != nil {
		return false
	}
	var out T
	rv := reflect.ValueOf(&out).Elem()
	for _, f := range c.fields {
		v, found := attrs[f.name]
		if !found {
			return false
		}
		av, err := f.attrType.ValueFromTerraform(ctx, v)
		if err != nil {
			return false
		}
		fv := reflect.ValueOf(av)
		if fv.Type() != rv.Field(f.index).Type() {
			return false
		}
		rv.Field(f.index).Set(fv)
	}
	*target = out
	return true
}

// encode converts m; handled is false when the framework must do it
// instead.
func (c *modelCodec[T]) encode(ctx context.Context, s schemaTyper, m *T) (tftypes.Value, bool) {
	c.init(ctx, s)
	if !c.ok {
		return tftypes.Value{}, false
	}
	rv := reflect.ValueOf(m).Elem()
	vals := make(map[string]tftypes.Value, len(c.fields))
	for _, f := range c.fields {
		av, isValue := rv.Field(f.index).Interface().(attr.Value)
		if !isValue {
			return tftypes.Value{}, false
		}
		tv, err := av.ToTerraformValue(ctx)
		if err != nil || !tv.Type().Equal(f.tfType) {
			return tftypes.Value{}, false
		}
		vals[f.name] = tv
	}
	return tftypes.NewValue(c.objType, vals), true
}

// getState is req.State.Get(ctx, target) through the codec.
func (c *modelCodec[T]) getState(ctx context.Context, s tfsdk.State, target *T) diag.Diagnostics {
	if c.decode(ctx, s.Schema, s.Raw, target) {
		return nil
	}
	return s.Get(ctx, target)
}

// getPlan is req.Plan.Get(ctx, target) through the codec.
func (c *modelCodec[T]) getPlan(ctx context.Context, p tfsdk.Plan, target *T) diag.Diagnostics {
	if c.decode(ctx, p.Schema, p.Raw, target) {
		return nil
	}
	return p.Get(ctx, target)
}

// getConfig is req.Config.Get(ctx, target) through the codec.
func (c *modelCodec[T]) getConfig(ctx context.Context, cfg tfsdk.Config, target *T) diag.Diagnostics {
	if c.decode(ctx, cfg.Schema, cfg.Raw, target) {
		return nil
	}
	return cfg.Get(ctx, target)
}

// setState is resp.State.Set(ctx, m) through the codec.
func (c *modelCodec[T]) setState(ctx context.Context, s *tfsdk.State, m *T) diag.Diagnostics {
	if v, ok := c.encode(ctx, s.Schema, m); ok {
		s.Raw = v
		return nil
	}
	return s.Set(ctx, m)
}

// setPlan is resp.Plan.Set(ctx, m) through the codec.
func (c *modelCodec[T]) setPlan(ctx context.Context, p *tfsdk.Plan, m *T) diag.Diagnostics {
	if v, ok := c.encode(ctx, p.Schema, m); ok {
		p.Raw = v
		return nil
	}
	return p.Set(ctx, m)
}
