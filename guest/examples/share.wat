;; share.wat - share one page and grant it read-only, in plain WAT.
;;
;; Memory page 1 (bytes 0x1000..0x2000) holds the i32 42 followed by a
;; short text. `run` makes that page the region "answer" (max rights R)
;; and grants R to the instance "reader" (see map.wat, which reads the 42).
;; It returns 0, or the negative error of the call that failed.
;; `_start` calls `run` and traps if it failed, for use as an entry point.
;;
;; Run it: waven run --invoke run share.wat   (in a platform, as the owner)
(module
  ;; share(addr, len, name_ptr, name_len, max_rights) -> handle
  (import "waven" "share" (func $share (param i32 i32 i32 i32 i32) (result i32)))
  ;; grant(handle, who_ptr, who_len, rights) -> i32
  (import "waven" "grant" (func $grant (param i32 i32 i32 i32) (result i32)))

  (memory (export "memory") 1)

  ;; Page 0: private strings (never shared).
  (data (i32.const 0x100) "answer")    ;; region name, 6 bytes
  (data (i32.const 0x110) "reader")    ;; grantee, 6 bytes
  ;; Page 1: the shared page. i32 42 (little-endian) at its start.
  (data (i32.const 0x1000) "\2a\00\00\00the answer, lent read-only")

  (func $run (export "run") (result i32)
    (local $h i32)
    ;; handle = share(0x1000, 4096, "answer", R)
    (local.set $h
      (call $share (i32.const 0x1000) (i32.const 4096)
                   (i32.const 0x100) (i32.const 6)
                   (i32.const 1)))                 ;; 1 = R
    (if (i32.lt_s (local.get $h) (i32.const 0))
      (then (return (local.get $h))))
    ;; grant(handle, "reader", R): 0 or a negative error
    (call $grant (local.get $h) (i32.const 0x110) (i32.const 6) (i32.const 1)))

  (func (export "_start")
    (if (i32.lt_s (call $run) (i32.const 0))
      (then unreachable))))
