package mls

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"strings"
	"testing"
)

// TestAPINamesNoLowLevelType: no exported signature, field or type of
// package mls names a type of the low-level package core or of an internal
// package, except ProtocolError (shared with core, as os.PathError is with
// io/fs). Applications see only this package's types.
func TestAPINamesNoLowLevelType(t *testing.T) {
	fset := token.NewFileSet()
	pkgs, err := parser.ParseDir(fset, ".", func(fi fs.FileInfo) bool {
		return !strings.HasSuffix(fi.Name(), "_test.go")
	}, 0)
	if err != nil {
		t.Fatal(err)
	}
	foreign := func(n ast.Node) []string {
		var bad []string
		ast.Inspect(n, func(n ast.Node) bool {
			if sel, ok := n.(*ast.SelectorExpr); ok {
				if id, ok := sel.X.(*ast.Ident); ok && (id.Name == "core" || id.Name == "suite" || id.Name == "treemath") {
					bad = append(bad, id.Name+"."+sel.Sel.Name)
				}
			}
			return true
		})
		return bad
	}
	for _, f := range pkgs["mls"].Files {
		for _, d := range f.Decls {
			switch d := d.(type) {
			case *ast.FuncDecl:
				if !d.Name.IsExported() || (d.Recv != nil && !exportedRecv(d.Recv)) {
					continue
				}
				if bad := foreign(d.Type); len(bad) > 0 {
					t.Errorf("%s: exported signature names %v", fset.Position(d.Pos()), bad)
				}
			case *ast.GenDecl:
				for _, s := range d.Specs {
					ts, ok := s.(*ast.TypeSpec)
					if !ok || !ts.Name.IsExported() || ts.Name.Name == "ProtocolError" {
						continue
					}
					var bad []string
					switch typ := ts.Type.(type) {
					case *ast.StructType:
						for _, fl := range typ.Fields.List {
							if len(fl.Names) == 0 || fl.Names[0].IsExported() {
								bad = append(bad, foreign(fl.Type)...)
							}
						}
					case *ast.InterfaceType:
						for _, m := range typ.Methods.List {
							if len(m.Names) > 0 && m.Names[0].IsExported() {
								bad = append(bad, foreign(m.Type)...)
							}
						}
					default:
						bad = foreign(ts.Type)
					}
					if len(bad) > 0 {
						t.Errorf("%s: exported type %s names %v", fset.Position(ts.Pos()), ts.Name.Name, bad)
					}
				}
			}
		}
	}
}

func exportedRecv(r *ast.FieldList) bool {
	typ := r.List[0].Type
	if st, ok := typ.(*ast.StarExpr); ok {
		typ = st.X
	}
	id, ok := typ.(*ast.Ident)
	return ok && id.IsExported()
}
