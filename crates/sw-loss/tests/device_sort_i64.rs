//! The device sort with 64-bit indices: a wgpu device configured for `IntDType::I64` (its own
//! test binary, since a device's dtype settings are fixed by its first tensor).
#![cfg(feature = "wgpu")]

use burn::tensor::{DType, Device, DeviceKind, IntDType, Tensor, TensorData};
use sw_loss::kernel::sort_rows;

#[test]
fn sort_rows_writes_i64_indices_on_an_i64_device() {
    let mut device = Device::wgpu(DeviceKind::DefaultDevice);
    device.configure(IntDType::I64).unwrap();
    let (rows, n) = (3, 5000);
    let data: Vec<f32> = (0..rows * n)
        .map(|i| ((i * 7919) % 1013) as f32 - 500.0)
        .collect();
    let x = Tensor::<2>::from_data(TensorData::new(data.clone(), [rows, n]), &device);
    let (values, indices) = sort_rows(x);
    assert_eq!(indices.dtype(), DType::I64);
    let values = values.into_data().try_to_vec::<f32>().unwrap();
    let indices = indices.into_data().try_to_vec::<i64>().unwrap();
    for r in 0..rows {
        let row = &data[r * n..(r + 1) * n];
        let mut want: Vec<usize> = (0..n).collect();
        want.sort_by(|&a, &b| row[a].partial_cmp(&row[b]).unwrap());
        for k in 0..n {
            assert_eq!(indices[r * n + k] as usize, want[k], "row {r} position {k}");
            assert_eq!(values[r * n + k], row[want[k]]);
        }
    }
}
