//! Building an instance's context ([`InstanceVm`]) once its objects exist
//! in the store.

use waven_environ::vm::{VMContext, VMFuncRef};

use crate::error::Error;
use crate::store::Store;
use crate::vm_box::VmBox;
use crate::vm_store::InstanceVm;

/// Builds the context of instance `instance` (of a compiled module) and
/// points the store's references of its functions at their code.
pub(crate) fn build<T>(store: &mut Store<T>, instance: u32) -> Result<(), Error> {
    let data = store.inner.instances[instance as usize].data.clone();
    let module = &data.module;
    let Some(compiled) = module.inner.compiled.as_ref() else {
        return Ok(());
    };
    let info = &module.inner.info;
    let inner = &mut store.inner;
    let memories: Box<[_]> = data
        .memory
        .iter()
        .map(|&m| inner.memories[m as usize].vm.as_ptr())
        .collect();
    let globals: Box<[_]> = data
        .globals
        .iter()
        .map(|&g| inner.globals[g as usize].vm.as_ptr())
        .collect();
    let tables: Box<[_]> = data
        .tables
        .iter()
        .map(|&t| inner.tables[t as usize].vm.as_ptr())
        .collect();
    let sig_ids: Box<[u32]> = info.types.iter().map(|ty| inner.vm.signature(ty)).collect();
    let funcs: Box<[VMFuncRef]> = data
        .funcs
        .iter()
        .map(|&f| inner.vm.funcrefs[f as usize])
        .collect();
    let mut vm = VmBox::new(InstanceVm {
        header: VMContext {
            runtime: inner.vm.runtime.as_ptr().cast(),
            memory0: memories.first().copied().unwrap_or(std::ptr::null_mut()),
            memories: std::ptr::null(),
            globals: std::ptr::null(),
            funcs: std::ptr::null(),
            tables: std::ptr::null(),
            sig_ids: std::ptr::null(),
        },
        instance,
        memories,
        globals,
        funcs,
        tables,
        sig_ids,
    });
    let vmctx = vm.as_ptr().cast::<VMContext>();
    let first_defined = info.num_imported_funcs as usize;
    let owned = vm.get_mut();
    for (defined, funcref) in owned.funcs[first_defined..].iter_mut().enumerate() {
        let code = compiled
            .code
            .func_ptr(defined as u32)
            .ok_or_else(|| Error::Unsupported(format!("compiled code lacks function {defined}")))?;
        funcref.code = code;
        funcref.vmctx = vmctx;
        inner.vm.funcrefs[funcref.store_index as usize] = *funcref;
    }
    owned.header.memories = owned.memories.as_ptr();
    owned.header.globals = owned.globals.as_ptr();
    owned.header.funcs = owned.funcs.as_ptr();
    owned.header.tables = owned.tables.as_ptr();
    owned.header.sig_ids = owned.sig_ids.as_ptr();
    inner.instances[instance as usize].vm = Some(vm);
    Ok(())
}
