//! The loader: validates a binary module and extracts everything the runtime
//! needs from it (types, imports, index spaces, segments, function bodies).
//!
//! Validation and extraction happen in a single pass over the payloads of a
//! [`wasmparser::Parser`]: each payload is first given to the
//! [`wasmparser::Validator`], and only then read for its contents.

use std::collections::HashMap;
use std::ops::Range;
use std::sync::Arc;

use wasmparser::{
    BinaryReader, BinaryReaderError, Encoding, ExternalKind, FuncValidatorAllocations,
    FunctionBody, HeapType, KnownCustom, Name, Operator, Parser, Payload, RefType, TableInit,
    TypeRef, ValidPayload, Validator, WasmFeatures,
};

use crate::error::EnvironError as Error;
use crate::types::{FuncType, ValType};

/// The WebAssembly features waven accepts: WebAssembly 2.0 without SIMD
/// (mutable-global, saturating-float-to-int, sign-extension, multi-value,
/// bulk-memory, reference-types), plus memory-control. Not threads, tail
/// calls, GC, typed function references, exceptions, memory64, multi-memory,
/// extended-const or any other proposal.
pub fn features() -> WasmFeatures {
    WasmFeatures::FLOATS
        .union(WasmFeatures::GC_TYPES) // needed for `externref`
        .union(WasmFeatures::MUTABLE_GLOBAL)
        .union(WasmFeatures::SATURATING_FLOAT_TO_INT)
        .union(WasmFeatures::SIGN_EXTENSION)
        .union(WasmFeatures::MULTI_VALUE)
        .union(WasmFeatures::BULK_MEMORY)
        .union(WasmFeatures::REFERENCE_TYPES)
        .union(WasmFeatures::MEMORY_CONTROL)
}

/// Everything the runtime needs to know about a validated module.
#[derive(Default)]
pub struct ModuleInfo {
    /// The type section, in order.
    pub types: Vec<FuncType>,
    /// The imports, in order.
    pub imports: Vec<Import>,
    /// The type index of every function of the function index space
    /// (imported functions first).
    pub funcs: Vec<u32>,
    /// How many of `funcs` are imported.
    pub num_imported_funcs: u32,
    /// The table index space, imported tables first.
    pub tables: Vec<TableDecl>,
    /// How many of `tables` are imported.
    pub num_imported_tables: u32,
    /// The memory index space, imported memories first (at most one).
    pub memories: Vec<MemoryDecl>,
    /// How many of `memories` are imported.
    pub num_imported_memories: u32,
    /// The global index space, imported globals first.
    pub globals: Vec<GlobalDecl>,
    /// How many of `globals` are imported.
    pub num_imported_globals: u32,
    /// The initializer of each defined global: index `i` is the one of global
    /// `num_imported_globals + i`.
    pub global_inits: Vec<ConstExpr>,
    /// The exports, in order.
    pub exports: Vec<Export>,
    /// The start function, if any.
    pub start: Option<u32>,
    /// The element segments, in order.
    pub elements: Vec<ElementSegment>,
    /// The data segments, in order.
    pub data: Vec<DataSegment>,
    /// One body per defined function, in order.
    pub bodies: Vec<FuncBody>,
    /// Function names from the "name" custom section (empty if it is absent;
    /// a malformed name section is ignored from its first error on).
    pub func_names: HashMap<u32, String>,
    /// The whole module.
    pub bytes: Arc<[u8]>,
}

/// An import of the module.
pub struct Import {
    /// The module name.
    pub module: String,
    /// The field name.
    pub name: String,
    /// What is imported.
    pub kind: ImportKind,
}

/// What an import imports, with its type.
pub enum ImportKind {
    /// A function, of this type index.
    Func(u32),
    /// A table.
    Table(TableDecl),
    /// A memory.
    Memory(MemoryDecl),
    /// A global.
    Global(GlobalDecl),
}

/// The type of a table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TableDecl {
    /// The element type: `FuncRef` or `ExternRef`.
    pub element: ValType,
    /// Initial size, in elements.
    pub initial: u64,
    /// Maximum size, in elements.
    pub maximum: Option<u64>,
}

/// The type of a memory, in Wasm pages (64 KiB).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemoryDecl {
    /// Initial size, in pages.
    pub initial: u64,
    /// Maximum size, in pages.
    pub maximum: Option<u64>,
}

/// The type of a global.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GlobalDecl {
    /// The value type.
    pub ty: ValType,
    /// Whether the global is mutable.
    pub mutable: bool,
}

/// An export of the module.
pub struct Export {
    /// The export name.
    pub name: String,
    /// What kind of entity is exported.
    pub kind: ExternKind,
    /// Its index in the index space of its kind.
    pub index: u32,
}

/// The kinds of entity that can be imported or exported.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExternKind {
    /// A function.
    Func,
    /// A table.
    Table,
    /// A memory.
    Memory,
    /// A global.
    Global,
}

/// A constant expression of WebAssembly 2.0 (a single instruction before `end`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConstExpr {
    /// `i32.const`.
    I32(i32),
    /// `i64.const`.
    I64(i64),
    /// `f32.const`, as bits.
    F32(u32),
    /// `f64.const`, as bits.
    F64(u64),
    /// `ref.null` of a reference type (`FuncRef` or `ExternRef`).
    RefNull(ValType),
    /// `ref.func` of a function index.
    RefFunc(u32),
    /// `global.get` of a global index.
    GlobalGet(u32),
}

/// An element segment.
pub struct ElementSegment {
    /// How the segment is used.
    pub mode: ElementMode,
    /// The type of its elements (`FuncRef` or `ExternRef`).
    #[allow(dead_code)] // not needed to execute; kept for inspection
    pub ty: ValType,
    /// The elements; function indices become [`ConstExpr::RefFunc`].
    pub items: Vec<ConstExpr>,
}

/// How an element segment is used.
pub enum ElementMode {
    /// Used by `table.init`.
    Passive,
    /// Only declares functions for `ref.func`.
    Declared,
    /// Copied into a table at instantiation.
    Active {
        /// The table index.
        table: u32,
        /// The offset in the table.
        offset: ConstExpr,
    },
}

/// A data segment.
pub struct DataSegment {
    /// How the segment is used.
    pub mode: DataMode,
    /// Its bytes.
    pub bytes: Arc<[u8]>,
}

/// How a data segment is used.
pub enum DataMode {
    /// Used by `memory.init`.
    Passive,
    /// Copied into a memory at instantiation.
    Active {
        /// The memory index.
        memory: u32,
        /// The offset in the memory.
        offset: ConstExpr,
    },
}

/// A defined function's body.
pub struct FuncBody {
    /// The declared locals, one entry per local (the parameters excluded).
    pub locals: Vec<ValType>,
    /// Byte range of the whole body (locals and code, without the size
    /// prefix) in [`ModuleInfo::bytes`].
    pub range: Range<usize>,
}

/// The most locals a function may declare (the validator's limit too).
const MAX_LOCALS: usize = 50_000;

/// Converts a wasmparser error into [`Error::InvalidModule`].
fn invalid(e: BinaryReaderError) -> Error {
    Error::InvalidModule {
        message: e.message().to_string(),
        offset: usize::try_from(e.offset()).unwrap_or(usize::MAX),
    }
}

/// An [`Error::Unsupported`] for `what`.
fn unsupported(what: impl Into<String>) -> Error {
    Error::Unsupported(what.into())
}

/// Converts a byte range of wasmparser into a `usize` range.
fn usize_range(range: Range<u64>) -> Range<usize> {
    let conv = |x: u64| usize::try_from(x).unwrap_or(usize::MAX);
    conv(range.start)..conv(range.end)
}

/// The value type of a reference type: `funcref` or `externref`.
fn ref_type(ty: RefType) -> Result<ValType, Error> {
    if ty.is_func_ref() && ty.is_nullable() {
        Ok(ValType::FuncRef)
    } else if ty.is_extern_ref() && ty.is_nullable() {
        Ok(ValType::ExternRef)
    } else {
        Err(unsupported(format!("reference type {ty}")))
    }
}

/// Converts a table type.
fn table_decl(ty: &wasmparser::TableType) -> Result<TableDecl, Error> {
    Ok(TableDecl {
        element: ref_type(ty.element_type)?,
        initial: ty.initial,
        maximum: ty.maximum,
    })
}

/// Converts a memory type.
fn memory_decl(ty: &wasmparser::MemoryType) -> MemoryDecl {
    MemoryDecl {
        initial: ty.initial,
        maximum: ty.maximum,
    }
}

/// Converts a global type.
fn global_decl(ty: &wasmparser::GlobalType) -> GlobalDecl {
    GlobalDecl {
        ty: ValType::from_wasmparser(ty.content_type),
        mutable: ty.mutable,
    }
}

/// Converts a (validated) constant expression of a single instruction.
fn const_expr(expr: &wasmparser::ConstExpr<'_>) -> Result<ConstExpr, Error> {
    let mut ops = expr.get_operators_reader();
    let value = match ops.read().map_err(invalid)? {
        Operator::I32Const { value } => ConstExpr::I32(value),
        Operator::I64Const { value } => ConstExpr::I64(value),
        Operator::F32Const { value } => ConstExpr::F32(value.bits()),
        Operator::F64Const { value } => ConstExpr::F64(value.bits()),
        Operator::RefNull { hty } => ConstExpr::RefNull(match hty {
            HeapType::FUNC => ValType::FuncRef,
            HeapType::EXTERN => ValType::ExternRef,
            other => return Err(unsupported(format!("ref.null of {other:?}"))),
        }),
        Operator::RefFunc { function_index } => ConstExpr::RefFunc(function_index),
        Operator::GlobalGet { global_index } => ConstExpr::GlobalGet(global_index),
        other => return Err(unsupported(format!("constant expression {other:?}"))),
    };
    match ops.read().map_err(invalid)? {
        Operator::End if ops.eof() => Ok(value),
        _ => Err(unsupported("constant expression of several instructions")),
    }
}

/// Expands the local declarations of a (validated) body, one entry per local.
fn expand_locals(body: &FunctionBody<'_>) -> Result<Vec<ValType>, Error> {
    let mut locals = Vec::new();
    let reader = body.get_locals_reader().map_err(invalid)?;
    for decl in reader {
        let (count, ty) = decl.map_err(invalid)?;
        let count = count as usize;
        if count > MAX_LOCALS - locals.len() {
            return Err(Error::InvalidModule {
                message: "too many locals".into(),
                offset: usize_range(body.range()).start,
            });
        }
        locals.resize(locals.len() + count, ValType::from_wasmparser(ty));
    }
    Ok(locals)
}

impl ModuleInfo {
    /// Parses and fully validates `bytes` (with [`features`], every function
    /// body included) and extracts its contents. Malformed or invalid modules
    /// give [`Error::InvalidModule`] with wasmparser's message and byte
    /// offset; components and constructs waven lacks give
    /// [`Error::Unsupported`]. Never panics.
    pub fn parse(bytes: &[u8]) -> Result<ModuleInfo, Error> {
        let mut info = ModuleInfo {
            bytes: Arc::from(bytes),
            ..ModuleInfo::default()
        };
        let mut parser = Parser::new(0);
        parser.set_features(features());
        let mut validator = Validator::new_with_features(features());
        let mut allocs = FuncValidatorAllocations::default();
        for payload in parser.parse_all(bytes) {
            let payload = payload.map_err(invalid)?;
            if let Payload::Version {
                encoding: Encoding::Component,
                ..
            } = payload
            {
                return Err(unsupported("WebAssembly components"));
            }
            match validator.payload(&payload).map_err(invalid)? {
                ValidPayload::Func(to_validate, body) => {
                    let mut func = to_validate.into_validator(std::mem::take(&mut allocs));
                    func.validate(&body).map_err(invalid)?;
                    allocs = func.into_allocations();
                    info.bodies.push(FuncBody {
                        locals: expand_locals(&body)?,
                        range: usize_range(body.range()),
                    });
                    continue;
                }
                ValidPayload::End(_) => return Ok(info),
                _ => {}
            }
            info.extract(payload)?;
        }
        Err(Error::InvalidModule {
            message: "unexpected end of module".into(),
            offset: bytes.len(),
        })
    }

    /// Records the contents of one (already validated) payload.
    fn extract(&mut self, payload: Payload<'_>) -> Result<(), Error> {
        match payload {
            Payload::TypeSection(section) => {
                for group in section {
                    for sub in group.map_err(invalid)?.into_types() {
                        match &sub.composite_type.inner {
                            wasmparser::CompositeInnerType::Func(ty) => {
                                self.types.push(FuncType::from_wasmparser(ty))
                            }
                            _ => return Err(unsupported("GC types")),
                        }
                    }
                }
            }
            Payload::ImportSection(section) => {
                for import in section.into_imports() {
                    let import = import.map_err(invalid)?;
                    let kind = match import.ty {
                        TypeRef::Func(ty) => ImportKind::Func(ty),
                        TypeRef::Table(ty) => ImportKind::Table(table_decl(&ty)?),
                        TypeRef::Memory(ty) => ImportKind::Memory(memory_decl(&ty)),
                        TypeRef::Global(ty) => ImportKind::Global(global_decl(&ty)),
                        other => return Err(unsupported(format!("import of {other:?}"))),
                    };
                    match kind {
                        ImportKind::Func(ty) => self.funcs.push(ty),
                        ImportKind::Table(decl) => self.tables.push(decl),
                        ImportKind::Memory(decl) => self.memories.push(decl),
                        ImportKind::Global(decl) => self.globals.push(decl),
                    }
                    let (module, name) = (import.module.to_string(), import.name.to_string());
                    self.imports.push(Import { module, name, kind });
                }
                // The import section precedes all sections defining entities.
                self.num_imported_funcs = self.funcs.len() as u32;
                self.num_imported_tables = self.tables.len() as u32;
                self.num_imported_memories = self.memories.len() as u32;
                self.num_imported_globals = self.globals.len() as u32;
            }
            Payload::FunctionSection(section) => {
                for ty in section {
                    self.funcs.push(ty.map_err(invalid)?);
                }
            }
            Payload::TableSection(section) => {
                for table in section {
                    let table = table.map_err(invalid)?;
                    if !matches!(table.init, TableInit::RefNull) {
                        return Err(unsupported("table initializers"));
                    }
                    self.tables.push(table_decl(&table.ty)?);
                }
            }
            Payload::MemorySection(section) => {
                for memory in section {
                    self.memories.push(memory_decl(&memory.map_err(invalid)?));
                }
            }
            Payload::GlobalSection(section) => {
                for global in section {
                    let global = global.map_err(invalid)?;
                    self.globals.push(global_decl(&global.ty));
                    self.global_inits.push(const_expr(&global.init_expr)?);
                }
            }
            Payload::ExportSection(section) => {
                for export in section {
                    let export = export.map_err(invalid)?;
                    let kind = match export.kind {
                        ExternalKind::Func => ExternKind::Func,
                        ExternalKind::Table => ExternKind::Table,
                        ExternalKind::Memory => ExternKind::Memory,
                        ExternalKind::Global => ExternKind::Global,
                        other => return Err(unsupported(format!("export of {other:?}"))),
                    };
                    self.exports.push(Export {
                        name: export.name.to_string(),
                        kind,
                        index: export.index,
                    });
                }
            }
            Payload::StartSection { func, .. } => self.start = Some(func),
            Payload::ElementSection(section) => {
                for element in section {
                    self.elements
                        .push(element_segment(element.map_err(invalid)?)?);
                }
            }
            Payload::DataSection(section) => {
                for data in section {
                    let data = data.map_err(invalid)?;
                    let mode = match data.kind {
                        wasmparser::DataKind::Passive => DataMode::Passive,
                        wasmparser::DataKind::Active {
                            memory_index,
                            offset_expr,
                        } => DataMode::Active {
                            memory: memory_index,
                            offset: const_expr(&offset_expr)?,
                        },
                    };
                    self.data.push(DataSegment {
                        mode,
                        bytes: Arc::from(data.data),
                    });
                }
            }
            Payload::CustomSection(section) => {
                if let KnownCustom::Name(names) = section.as_known() {
                    self.read_names(names);
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// Records function names, ignoring everything from the first error on.
    fn read_names(&mut self, names: wasmparser::NameSectionReader<'_>) {
        for name in names {
            match name {
                Ok(Name::Function(map)) => {
                    for naming in map {
                        let Ok(naming) = naming else { return };
                        self.func_names
                            .insert(naming.index, naming.name.to_string());
                    }
                }
                Ok(_) => {}
                Err(_) => return,
            }
        }
    }

    /// The type of function `index` of the function index space.
    ///
    /// Panics if `index` is not a function of the module.
    pub fn func_type(&self, index: u32) -> &FuncType {
        &self.types[self.funcs[index as usize] as usize]
    }

    /// A reader of the body of defined function `defined_index` (0-based
    /// among defined functions), reading from [`ModuleInfo::bytes`] with the
    /// original byte offsets.
    ///
    /// Panics if `defined_index` is not a defined function.
    pub fn body_reader(&self, defined_index: usize) -> FunctionBody<'_> {
        let range = self.bodies[defined_index].range.clone();
        let start = range.start as u64;
        FunctionBody::new(BinaryReader::new_features(
            &self.bytes[range],
            start,
            features(),
        ))
    }
}

/// Converts a (validated) element segment.
fn element_segment(element: wasmparser::Element<'_>) -> Result<ElementSegment, Error> {
    let mode = match element.kind {
        wasmparser::ElementKind::Passive => ElementMode::Passive,
        wasmparser::ElementKind::Declared => ElementMode::Declared,
        wasmparser::ElementKind::Active {
            table_index,
            offset_expr,
        } => ElementMode::Active {
            table: table_index.unwrap_or(0),
            offset: const_expr(&offset_expr)?,
        },
    };
    let (ty, items) = match element.items {
        wasmparser::ElementItems::Functions(funcs) => {
            let items = funcs
                .into_iter()
                .map(|f| f.map(ConstExpr::RefFunc).map_err(invalid))
                .collect::<Result<_, _>>()?;
            (ValType::FuncRef, items)
        }
        wasmparser::ElementItems::Expressions(ty, exprs) => {
            let items = exprs
                .into_iter()
                .map(|e| const_expr(&e.map_err(invalid)?))
                .collect::<Result<_, _>>()?;
            (ref_type(ty)?, items)
        }
    };
    Ok(ElementSegment { mode, ty, items })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ValType::{ExternRef, FuncRef, F32, F64, I32, I64};

    /// Assembles and loads a module in text format.
    fn load(text: &str) -> Result<ModuleInfo, Error> {
        ModuleInfo::parse(&wat::parse_str(text).expect("valid text"))
    }

    /// The message and offset of an `InvalidModule` error.
    fn invalid_err(result: Result<ModuleInfo, Error>) -> (String, usize) {
        match result {
            Err(Error::InvalidModule { message, offset }) => (message, offset),
            Err(other) => panic!("expected InvalidModule, got {other:?}"),
            Ok(_) => panic!("expected InvalidModule, got a module"),
        }
    }

    #[test]
    fn imports_index_spaces_and_globals() {
        let info = load(
            r#"(module
                (type $v (func)) (type $ii (func (param i32) (result i32 i64)))
                (import "env" "f" (func (type $ii)))
                (import "env" "t" (table 1 10 externref))
                (import "env" "m" (memory 2 3))
                (import "env" "g" (global f64))
                (func (type $v)) (func (type $ii) i32.const 1 i64.const 2)
                (table 4 funcref)
                (global i32 (i32.const -7)) (global i64 (i64.const 8))
                (global f32 (f32.const 1.5)) (global (mut f64) (global.get 0))
                (global funcref (ref.func 1)) (global externref (ref.null extern)))"#,
        )
        .unwrap();
        let ii = FuncType::new([I32], [I32, I64]);
        assert_eq!(info.types, [FuncType::new([], []), ii.clone()]);
        let names: Vec<_> = info
            .imports
            .iter()
            .map(|i| (&*i.module, &*i.name))
            .collect();
        assert_eq!(
            names,
            [("env", "f"), ("env", "t"), ("env", "m"), ("env", "g")]
        );
        assert!(matches!(info.imports[0].kind, ImportKind::Func(1)));
        assert!(matches!(info.imports[3].kind, ImportKind::Global(g) if g.ty == F64));
        assert_eq!(
            (&info.funcs[..], info.num_imported_funcs),
            (&[1, 0, 1][..], 1)
        );
        assert_eq!(
            (info.func_type(0), info.func_type(1)),
            (&ii, &FuncType::new([], []))
        );
        let tables: Vec<_> = info
            .tables
            .iter()
            .map(|t| (t.element, t.initial, t.maximum))
            .collect();
        assert_eq!(tables, [(ExternRef, 1, Some(10)), (FuncRef, 4, None)]);
        assert_eq!(info.num_imported_tables, 1);
        let memory = MemoryDecl {
            initial: 2,
            maximum: Some(3),
        };
        assert_eq!(
            (&info.memories[..], info.num_imported_memories),
            (&[memory][..], 1)
        );
        let globals: Vec<_> = info.globals.iter().map(|g| (g.ty, g.mutable)).collect();
        let expected = [
            (F64, false),
            (I32, false),
            (I64, false),
            (F32, false),
            (F64, true),
        ];
        assert_eq!(globals[..5], expected);
        assert_eq!(globals[5..], [(FuncRef, false), (ExternRef, false)]);
        assert_eq!(info.num_imported_globals, 1);
        use ConstExpr as C;
        let inits = [
            C::I32(-7),
            C::I64(8),
            C::F32(1.5f32.to_bits()),
            C::GlobalGet(0),
        ];
        assert_eq!(info.global_inits[..4], inits);
        assert_eq!(
            info.global_inits[4..],
            [C::RefFunc(1), C::RefNull(ExternRef)]
        );
        assert_eq!(info.bodies.len(), 2);
        assert!(info.start.is_none() && info.exports.is_empty() && info.data.is_empty());
    }

    #[test]
    fn exports_start_and_names() {
        let info = load(
            r#"(module
                (func $init) (func $run (export "run") (result i32) i32.const 0)
                (memory (export "mem") 1) (table (export "tab") 0 funcref)
                (global (export "g") f64 (f64.const -0.25)) (start $init))"#,
        )
        .unwrap();
        let exports: Vec<_> = info
            .exports
            .iter()
            .map(|e| (&*e.name, e.kind, e.index))
            .collect();
        use ExternKind::*;
        let expected = [
            ("run", Func, 1),
            ("mem", Memory, 0),
            ("tab", Table, 0),
            ("g", Global, 0),
        ];
        assert_eq!(exports, expected);
        assert_eq!(info.start, Some(0));
        assert_eq!(info.global_inits, [ConstExpr::F64((-0.25f64).to_bits())]);
        let names = HashMap::from([(0, "init".to_string()), (1, "run".to_string())]);
        assert_eq!(info.func_names, names);
    }

    #[test]
    fn element_segments() {
        let info = load(
            r#"(module
                (import "env" "base" (global $base i32))
                (table $t 10 funcref) (table $e 10 externref)
                (func $a) (func $b)
                (elem (i32.const 1) $a $b)
                (elem (table $e) (global.get $base) externref (ref.null extern))
                (elem func $b)
                (elem funcref (ref.func $a) (ref.null func))
                (elem declare func $a))"#,
        )
        .unwrap();
        use ConstExpr::{GlobalGet, RefFunc, RefNull};
        let seg = &info.elements;
        assert_eq!(seg.len(), 5);
        let offset = ConstExpr::I32(1);
        assert!(matches!(seg[0].mode, ElementMode::Active { table: 0, offset: o } if o == offset));
        assert_eq!(
            (seg[0].ty, &seg[0].items[..]),
            (FuncRef, &[RefFunc(0), RefFunc(1)][..])
        );
        let offset = GlobalGet(0);
        assert!(matches!(seg[1].mode, ElementMode::Active { table: 1, offset: o } if o == offset));
        assert_eq!(
            (seg[1].ty, &seg[1].items[..]),
            (ExternRef, &[RefNull(ExternRef)][..])
        );
        assert!(matches!(seg[2].mode, ElementMode::Passive));
        assert_eq!((seg[2].ty, &seg[2].items[..]), (FuncRef, &[RefFunc(1)][..]));
        assert!(matches!(seg[3].mode, ElementMode::Passive));
        assert_eq!(seg[3].items, [RefFunc(0), RefNull(FuncRef)]);
        assert!(matches!(seg[4].mode, ElementMode::Declared));
        assert_eq!(seg[4].items, [RefFunc(0)]);
    }

    #[test]
    fn data_segments() {
        let info = load(
            r#"(module (memory 1) (data (i32.const 16) "abc") (data "\00\ff")
                (func (memory.init 1 (i32.const 0) (i32.const 0) (i32.const 2)) (data.drop 1)))"#,
        )
        .unwrap();
        let offset = ConstExpr::I32(16);
        let active = &info.data[0];
        assert!(matches!(active.mode, DataMode::Active { memory: 0, offset: o } if o == offset));
        assert_eq!(&*active.bytes, b"abc");
        assert!(matches!(info.data[1].mode, DataMode::Passive));
        assert_eq!(
            (info.data.len(), &*info.data[1].bytes),
            (2, &b"\x00\xff"[..])
        );
    }

    #[test]
    fn malformed_modules_are_invalid() {
        assert_eq!(invalid_err(ModuleInfo::parse(b"\0asx\x01\0\0\0")).1, 0);
        invalid_err(ModuleInfo::parse(b""));
        invalid_err(ModuleInfo::parse(b"\0asm\x01\0\0\0\x01\x05"));
    }

    #[test]
    fn type_error_is_invalid_at_the_instruction() {
        let wasm = wat::parse_str("(module (func (result i32) i64.const 1 i64.const 2 i32.add))");
        let wasm = wasm.unwrap();
        let (message, offset) = invalid_err(ModuleInfo::parse(&wasm));
        assert!(message.contains("type mismatch"), "{message}");
        assert_eq!(wasm[offset], 0x6a, "{message} at {offset}: not at i32.add");
    }

    #[test]
    fn too_many_locals_are_invalid() {
        let text = format!("(module (func {}))", "(local i32)".repeat(50_001));
        let (message, _) = invalid_err(load(&text));
        assert!(message.contains("locals"), "{message}");
    }

    #[test]
    fn simd_and_other_proposals_are_rejected() {
        let (message, _) = invalid_err(load("(module (func (param v128)))"));
        assert!(message.contains("SIMD"), "{message}");
        for text in [
            "(module (func (drop (v128.const i64x2 0 0))))",
            "(module (memory 1 1 shared))",
            "(module (func return_call 0))",
            "(module (memory i64 1))",
            "(module (memory 1) (memory 1))",
            "(module (global i32 (i32.add (i32.const 1) (i32.const 2))))",
            "(module (tag))",
            "(module (type (struct)))",
        ] {
            invalid_err(load(text));
        }
        let component = ModuleInfo::parse(b"\0asm\x0d\0\x01\0");
        assert!(matches!(component, Err(Error::Unsupported(_))));
    }

    #[test]
    fn wasm2_and_memory_control_are_accepted() {
        load(
            r#"(module (memory 1) (table 1 funcref)
                (func (param i64 f32) (result i32 i64)
                    (drop (i32.extend8_s (i32.trunc_sat_f32_s (local.get 1))))
                    (memory.fill (i32.const 0) (i32.const 0) (i32.const 0))
                    (memory.discard (i32.const 0) (i32.const 0))
                    (drop (table.size 0))
                    i32.const 0 local.get 0))"#,
        )
        .unwrap();
    }

    #[test]
    fn body_reader_reads_operators_to_the_end() {
        let info = load(
            "(module (func) (func (param i32) (result i32) (local i64 i64 f32)
                local.get 0 i32.const 1 i32.add))",
        )
        .unwrap();
        let body = &info.bodies[1];
        assert_eq!(body.locals, [I64, I64, F32]);
        let reader = info.body_reader(1);
        assert_eq!(
            reader.range(),
            body.range.start as u64..body.range.end as u64
        );
        let mut ops = reader.get_operators_reader().unwrap();
        let mut read = Vec::new();
        while !ops.eof() {
            assert!(body.range.contains(&(ops.original_position() as usize)));
            read.push(ops.read().unwrap());
        }
        ops.finish().unwrap();
        use Operator::{End, I32Add, I32Const, LocalGet};
        let expected = [
            LocalGet { local_index: 0 },
            I32Const { value: 1 },
            I32Add,
            End,
        ];
        assert_eq!(read, expected);
        assert!(info.bodies[0].locals.is_empty());
        let mut ops = info.body_reader(0).get_operators_reader().unwrap();
        assert!(matches!(ops.read().unwrap(), Operator::End) && ops.eof());
    }

    #[test]
    fn malformed_name_section_is_ignored() {
        let mut wasm = wat::parse_str("(module (func))").unwrap();
        // A "name" section whose function names announce two but hold one.
        wasm.extend_from_slice(&[0, 11, 4, b'n', b'a', b'm', b'e', 1, 4, 2, 0, 1, b'f']);
        let info = ModuleInfo::parse(&wasm).unwrap();
        assert_eq!(info.func_names, HashMap::from([(0, "f".to_string())]));
    }

    #[test]
    fn truncated_or_mutated_inputs_never_panic() {
        let wasm = wat::parse_str(
            r#"(module (import "e" "f" (func (param i32)))
                (memory 1) (table 2 funcref) (global (mut i32) (i32.const 0))
                (func $f (export "f") (result i32) (local i32) i32.const 3)
                (elem (i32.const 0) $f) (data (i32.const 0) "hi"))"#,
        )
        .unwrap();
        for len in 0..wasm.len() {
            let _ = ModuleInfo::parse(&wasm[..len]);
        }
        for i in 0..wasm.len() {
            for byte in [0x00, 0x01, 0x7f, 0x80, 0xff, wasm[i] ^ 0x40] {
                let mut mutated = wasm.clone();
                mutated[i] = byte;
                let _ = ModuleInfo::parse(&mutated);
            }
        }
    }
}
