;; Memory-heavy loop over an array of n i64 words (8n bytes): passes of
;; x[i+1] = x[i] * k + x[i+1], alternately through i64 and i32 views.
(module
  (memory 1)

  ;; Grows the memory to hold at least $bytes bytes.
  (func $ensure (param $bytes i32)
    (local $pages i32)
    (local.set $pages
      (i32.shr_u (i32.add (local.get $bytes) (i32.const 65535)) (i32.const 16)))
    (if (i32.gt_u (local.get $pages) (memory.size))
      (then
        (if (i32.eq (memory.grow (i32.sub (local.get $pages) (memory.size)))
                    (i32.const -1))
          (then unreachable)))))

  (func (export "memloop") (param $n i32) (result i64)
    (local $i i32) (local $pass i32) (local $end i32) (local $last i32) (local $acc i64)
    (local.set $end (i32.shl (local.get $n) (i32.const 3)))
    (call $ensure (local.get $end))

    ;; x[i] = i * golden ratio
    (loop $init
      (i64.store (local.get $i)
        (i64.mul (i64.extend_i32_u (local.get $i)) (i64.const 0x9E3779B97F4A7C15)))
      (br_if $init
        (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 8))) (local.get $end))))

    (loop $passes
      ;; i64 view
      (local.set $last (i32.sub (local.get $end) (i32.const 8)))
      (local.set $i (i32.const 0))
      (loop $pass64
        (i64.store offset=8 (local.get $i)
          (i64.add
            (i64.mul (i64.load (local.get $i)) (i64.const 6364136223846793005))
            (i64.load offset=8 (local.get $i))))
        (br_if $pass64
          (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 8))) (local.get $last))))
      ;; i32 view
      (local.set $last (i32.sub (local.get $end) (i32.const 4)))
      (local.set $i (i32.const 0))
      (loop $pass32
        (i32.store offset=4 (local.get $i)
          (i32.add
            (i32.mul (i32.load (local.get $i)) (i32.const 0x01000193))
            (i32.load offset=4 (local.get $i))))
        (br_if $pass32
          (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 4))) (local.get $last))))
      (br_if $passes
        (i32.lt_u (local.tee $pass (i32.add (local.get $pass) (i32.const 1))) (i32.const 4))))

    ;; fold the array
    (local.set $i (i32.const 0))
    (loop $fold
      (local.set $acc
        (i64.xor (i64.rotl (local.get $acc) (i64.const 5)) (i64.load (local.get $i))))
      (br_if $fold
        (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 8))) (local.get $end))))
    (local.get $acc)))
