//! Compiles `proto/` with protox (pure Rust, so no `protoc` is needed) and writes the
//! descriptor set that gRPC server reflection serves.

use std::{env, fs, path::PathBuf};

const PROTO_ROOT: &str = "proto";

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out_dir = PathBuf::from(env::var("OUT_DIR")?);
    let mut files: Vec<PathBuf> = fs::read_dir("proto/partnercenter/gateway/v1")?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "proto"))
        .collect();
    files.sort();
    let relative: Vec<PathBuf> =
        files.iter().map(|path| path.strip_prefix(PROTO_ROOT).map(PathBuf::from)).collect::<Result<_, _>>()?;

    let mut compiler = protox::Compiler::new([PROTO_ROOT])?;
    compiler.include_imports(true).include_source_info(true);
    for file in &relative {
        compiler.open_file(file)?;
    }
    // prost-build only writes a descriptor set when it runs protoc itself, so write it here.
    fs::write(out_dir.join("partnercenter_gateway_v1_descriptor.bin"), compiler.encode_file_descriptor_set())?;
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        // Services whose operations a later release adds answer UNIMPLEMENTED until then.
        .generate_default_stubs(true)
        .compile_fds(compiler.file_descriptor_set())?;
    // compile_fds emits no rerun-if-changed of its own.
    println!("cargo:rerun-if-changed={PROTO_ROOT}");
    Ok(())
}
