;; Interleaved 8-bit RGB in a matrix/TRC profile's colours → the same pixels in sRGB, in place:
;; each channel to linear light, the 3×3 matrix, sRGB's encoding by its table. The same steps as
;; the JavaScript loop in srgb.ts, a pixel's three channels in one f32x4; that loop took 0.6 ms of
;; CPU a 224² image here (1.2 ms inside a loaded server), 10% of a served request for a photo that
;; carries such a profile (Adobe RGB, Display P3). Assembled into srgb-wasm.ts (npm run wasm).
(module
  ;; 2 pages: at 0 the columns (3 channels × 256 values × 4 f32), at 12288 the encoding table
  ;; (16,385 bytes), at 32768 one call's pixels (at most 16,384: 48 KiB). See srgb.ts.
  (memory (export "memory") 2)

  ;; The pixels from $px to $end, 3 bytes each. Column c's entry for value v holds the matrix's
  ;; column c times channel c's linear light for v, times the table's 16,384 steps: the sum of a
  ;; pixel's three entries is its sRGB linear light in steps, all three channels at once.
  (func (export "srgb") (param $px i32) (param $end i32)
    (local $v v128)
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $px) (local.get $end)))
        (local.set $v
          (f32x4.add
            (f32x4.add
              (v128.load offset=0 (i32.shl (i32.load8_u offset=0 (local.get $px)) (i32.const 4)))
              (v128.load offset=4096 (i32.shl (i32.load8_u offset=1 (local.get $px)) (i32.const 4))))
            (v128.load offset=8192 (i32.shl (i32.load8_u offset=2 (local.get $px)) (i32.const 4)))))
        ;; Clamped to the table, then its nearest step.
        (local.set $v
          (i32x4.trunc_sat_f32x4_u
            (f32x4.nearest
              (f32x4.min (f32x4.max (local.get $v) (f32x4.splat (f32.const 0))) (f32x4.splat (f32.const 16384))))))
        (i32.store8 offset=0 (local.get $px) (i32.load8_u offset=12288 (i32x4.extract_lane 0 (local.get $v))))
        (i32.store8 offset=1 (local.get $px) (i32.load8_u offset=12288 (i32x4.extract_lane 1 (local.get $v))))
        (i32.store8 offset=2 (local.get $px) (i32.load8_u offset=12288 (i32x4.extract_lane 2 (local.get $v))))
        (local.set $px (i32.add (local.get $px) (i32.const 3)))
        (br $next)))))
