//! Per-store limits ([`StoreLimits`]): what a module can make a store hold
//! on the host heap (table elements, tables, memories, instances).

use waven_runtime::{
    Config, Engine, Error, Linker, Module, Store, StoreLimit, StoreLimits, Table, Val, ValType,
};

fn engine() -> Engine {
    test_support::engine(Config {
        frame_budget: 16 << 20,
        ..Config::default()
    })
}

// The engine selection and rerun of `waven-test-support`, included by
// path: that crate depends on this one, so the runtime's own suites
// cannot depend on it.
#[path = "../../test-support/src/lib.rs"]
#[allow(dead_code)]
mod test_support;

#[test]
fn the_suite_passes_on_the_compiled_engine() {
    test_support::rerun_on_the_compiled_engine("the_suite_passes_on_the_compiled_engine");
}

fn module(engine: &Engine, wat: &str) -> Module {
    Module::new(engine, &wat::parse_str(wat).unwrap()).unwrap()
}

fn grow(store: &mut Store<()>, instance: waven_runtime::Instance, delta: i32) -> i32 {
    let func = instance.get_func(store, "grow").unwrap();
    let mut result = [Val::I32(0)];
    func.call(store, &[Val::I32(delta)], &mut result).unwrap();
    match result[0] {
        Val::I32(old) => old,
        other => panic!("grow returned {other:?}"),
    }
}

const GROWER: &str = r#"
(module
  (table $t 0 funcref)
  (func (export "grow") (param i32) (result i32)
    (table.grow $t (ref.null func) (local.get 0)))
  (func (export "size") (result i32) (table.size $t)))
"#;

#[test]
fn huge_declared_tables_are_refused_before_anything_is_allocated() {
    let engine = engine();
    // The review's module: 12 tables of 10 million entries (960 MB of host
    // heap without a limit).
    let tables = "(table 10000000 funcref)\n".repeat(12);
    let huge = module(&engine, &format!("(module {tables})"));
    let mut store = Store::new(&engine, ());
    assert_eq!(store.limits(), StoreLimits::default());
    let error = Linker::new().instantiate(&mut store, &huge).unwrap_err();
    assert_eq!(
        error,
        Error::StoreLimit {
            limit: StoreLimit::TableElements,
            total: 120_000_000,
            maximum: StoreLimits::DEFAULT_TABLE_ELEMENTS,
        }
    );
    assert_eq!(
        error.to_string(),
        "store limit exceeded: the store would hold 120000000 table elements, more than its \
         limit of 1000000 (StoreLimits)"
    );
    // Nothing was kept: the whole budget is still there.
    assert_eq!(store.table_elements(), 0);
    let small = module(&engine, "(module (table 1000000 funcref))");
    Linker::new().instantiate(&mut store, &small).unwrap();
    assert_eq!(store.table_elements(), 1_000_000);
    // Within one module, too, the tables count together.
    let mut store = Store::new(&engine, ());
    let two = module(
        &engine,
        "(module (table 600000 funcref) (table 600000 externref))",
    );
    let error = Linker::new().instantiate(&mut store, &two).unwrap_err();
    assert!(matches!(
        error,
        Error::StoreLimit {
            limit: StoreLimit::TableElements,
            total: 1_200_000,
            ..
        }
    ));
    assert_eq!(store.table_elements(), 0);
}

#[test]
fn table_grow_past_the_limit_returns_minus_one() {
    let engine = engine();
    let grower = module(&engine, GROWER);
    let mut store = Store::new(&engine, ());
    store.set_limits(StoreLimits {
        table_elements: 100,
        ..StoreLimits::default()
    });
    let instance = Linker::new().instantiate(&mut store, &grower).unwrap();
    assert_eq!(grow(&mut store, instance, 60), 0);
    assert_eq!(grow(&mut store, instance, 60), -1);
    assert_eq!(grow(&mut store, instance, 40), 60);
    assert_eq!(grow(&mut store, instance, 1), -1);
    assert_eq!(store.table_elements(), 100);
    let size = instance.get_func(&store, "size").unwrap();
    let mut result = [Val::I32(0)];
    size.call(&mut store, &[], &mut result).unwrap();
    assert_eq!(result[0], Val::I32(100));
    // A second instance's tables share the store's budget.
    let error = Linker::new()
        .instantiate(&mut store, &module(&engine, "(module (table 1 funcref))"))
        .unwrap_err();
    assert!(matches!(
        error,
        Error::StoreLimit {
            limit: StoreLimit::TableElements,
            total: 101,
            maximum: 100,
        }
    ));
    // The host API is held to the same limit.
    let error = Table::new(&mut store, ValType::FuncRef, 1, None, Val::FuncRef(None)).unwrap_err();
    assert!(matches!(error, Error::StoreLimit { .. }), "{error}");
    // Raising the limit lets the table grow again.
    store.set_limits(StoreLimits {
        table_elements: 1_000,
        ..StoreLimits::default()
    });
    assert_eq!(grow(&mut store, instance, 900), 100);
    assert_eq!(grow(&mut store, instance, 1), -1);
}

#[test]
fn host_table_grow_is_charged_to_the_store() {
    let engine = engine();
    let mut store = Store::new(&engine, ());
    store.set_limits(StoreLimits {
        table_elements: 10,
        ..StoreLimits::default()
    });
    let table = Table::new(
        &mut store,
        ValType::ExternRef,
        4,
        None,
        Val::ExternRef(None),
    )
    .unwrap();
    assert_eq!(table.grow(&mut store, 6, Val::ExternRef(None)).unwrap(), 4);
    assert_eq!(
        table.grow(&mut store, 1, Val::ExternRef(None)),
        Err(Error::StoreLimit {
            limit: StoreLimit::TableElements,
            total: 11,
            maximum: 10,
        })
    );
    assert_eq!(table.size(&store), 10);
    assert_eq!(store.table_elements(), 10);
}

#[test]
fn tables_memories_and_instances_are_counted() {
    let engine = engine();
    let limits = StoreLimits {
        tables: 2,
        memories: 1,
        instances: 2,
        ..StoreLimits::default()
    };
    let mut store = Store::new(&engine, ());
    store.set_limits(limits);
    let three_tables = module(
        &engine,
        "(module (table 1 funcref) (table 1 funcref) (table 1 funcref))",
    );
    let error = Linker::new()
        .instantiate(&mut store, &three_tables)
        .unwrap_err();
    assert_eq!(
        error,
        Error::StoreLimit {
            limit: StoreLimit::Tables,
            total: 3,
            maximum: 2,
        }
    );
    assert_eq!(store.table_elements(), 0);

    let with_memory = module(&engine, "(module (memory 1))");
    Linker::new().instantiate(&mut store, &with_memory).unwrap();
    let error = Linker::new()
        .instantiate(&mut store, &with_memory)
        .unwrap_err();
    assert!(matches!(
        error,
        Error::StoreLimit {
            limit: StoreLimit::Memories,
            total: 2,
            maximum: 1,
        }
    ));
    let error = waven_runtime::Memory::new(&mut store, 1, None).unwrap_err();
    assert!(matches!(
        error,
        Error::StoreLimit {
            limit: StoreLimit::Memories,
            ..
        }
    ));

    let empty = module(&engine, "(module)");
    Linker::new().instantiate(&mut store, &empty).unwrap();
    let error = Linker::new().instantiate(&mut store, &empty).unwrap_err();
    assert!(matches!(
        error,
        Error::StoreLimit {
            limit: StoreLimit::Instances,
            total: 3,
            maximum: 2,
        }
    ));
}
