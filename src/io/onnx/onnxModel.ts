/**
 * ONNX models as plain objects and their encoding to the ONNX protobuf format
 * (`onnx/onnx.proto`, IR version 8 with the default-domain opset 17). Only what proximal's graphs
 * use is modelled: a single graph of nodes with int/float/ints/floats/string attributes, float32,
 * int32 and int64 initializers stored as `raw_data`, and tensor-typed inputs and outputs whose
 * dimensions are sizes or named symbols (`"batch"`).
 */
import { littleEndianBytes, ProtobufWriter } from "./protobufWriter.js";

/** The ONNX IR version written (8: ONNX 1.10+, read by every current runtime). */
export const ONNX_IR_VERSION = 8;
/**
 * The default-domain opset the graphs use. 17 is supported by onnxruntime 1.13 and later (web and
 * node) and by ONNX 1.12+, and has every operator the exporters need (Gemm, LayerNormalization, ...).
 */
export const ONNX_OPSET = 17;

/** Element types of tensors in proximal's graphs, with their `TensorProto.DataType` numbers. */
export const ONNX_DATA_TYPE = { float32: 1, int32: 6, int64: 7, bool: 9 } as const;
export type OnnxDataType = keyof typeof ONNX_DATA_TYPE;

/** A constant tensor of the graph (an initializer). */
export interface OnnxTensor {
  name: string;
  dims: number[];
  data: Float32Array | Int32Array | BigInt64Array;
}

/** A node attribute, tagged with its ONNX type. */
export type OnnxAttribute =
  | { int: number }
  | { float: number }
  | { ints: number[] }
  | { floats: number[] }
  | { string: string };

/** One operator application. */
export interface OnnxNode {
  opType: string;
  inputs: string[];
  outputs: string[];
  name: string;
  attributes?: Record<string, OnnxAttribute>;
}

/** A graph input or output: a tensor of this element type and shape (a string names a free dimension). */
export interface OnnxValueInfo {
  name: string;
  dataType: OnnxDataType;
  shape: (number | string)[];
}

/** A whole model: one graph, plus free-form metadata (`metadata_props`). */
export interface OnnxModel {
  graphName: string;
  nodes: OnnxNode[];
  initializers: OnnxTensor[];
  inputs: OnnxValueInfo[];
  outputs: OnnxValueInfo[];
  producerVersion: string;
  docString?: string;
  metadata?: Record<string, string>;
}

// field numbers of onnx.proto (ModelProto, GraphProto, NodeProto, AttributeProto, TensorProto,
// ValueInfoProto, TypeProto, TensorShapeProto, OperatorSetIdProto, StringStringEntryProto)
const ATTRIBUTE_TYPE = { float: 1, int: 2, string: 3, floats: 6, ints: 7 } as const;

function tensorProto(tensor: OnnxTensor): ProtobufWriter {
  const dataType =
    tensor.data instanceof Float32Array
      ? ONNX_DATA_TYPE.float32
      : tensor.data instanceof Int32Array
        ? ONNX_DATA_TYPE.int32
        : ONNX_DATA_TYPE.int64;
  return new ProtobufWriter()
    .packedInt64(1, tensor.dims)
    .int64(2, dataType)
    .string(8, tensor.name)
    .bytes(9, littleEndianBytes(tensor.data));
}

function attributeProto(name: string, attribute: OnnxAttribute): ProtobufWriter {
  const out = new ProtobufWriter().string(1, name);
  if ("int" in attribute) return out.int64(3, attribute.int).int64(20, ATTRIBUTE_TYPE.int);
  if ("float" in attribute) return out.float(2, attribute.float).int64(20, ATTRIBUTE_TYPE.float);
  if ("ints" in attribute) return out.packedInt64(8, attribute.ints).int64(20, ATTRIBUTE_TYPE.ints);
  if ("floats" in attribute) return out.packedFloat(7, attribute.floats).int64(20, ATTRIBUTE_TYPE.floats);
  return out.string(4, attribute.string).int64(20, ATTRIBUTE_TYPE.string);
}

function nodeProto(node: OnnxNode): ProtobufWriter {
  const out = new ProtobufWriter();
  for (const input of node.inputs) out.string(1, input);
  for (const output of node.outputs) out.string(2, output);
  out.string(3, node.name).string(4, node.opType);
  for (const [name, attribute] of Object.entries(node.attributes ?? {})) {
    out.message(5, attributeProto(name, attribute));
  }
  return out;
}

function valueInfoProto(info: OnnxValueInfo): ProtobufWriter {
  const shape = new ProtobufWriter();
  for (const dim of info.shape) {
    const dimension = new ProtobufWriter();
    if (typeof dim === "number") dimension.int64(1, dim);
    else dimension.string(2, dim);
    shape.message(1, dimension);
  }
  const tensorType = new ProtobufWriter().int64(1, ONNX_DATA_TYPE[info.dataType]).message(2, shape);
  const type = new ProtobufWriter().message(1, tensorType);
  return new ProtobufWriter().string(1, info.name).message(2, type);
}

/** The model as ONNX protobuf bytes (what a `.onnx` file holds). */
export function encodeOnnxModel(model: OnnxModel): Uint8Array {
  const graph = new ProtobufWriter();
  for (const node of model.nodes) graph.message(1, nodeProto(node));
  graph.string(2, model.graphName);
  for (const tensor of model.initializers) graph.message(5, tensorProto(tensor));
  for (const input of model.inputs) graph.message(11, valueInfoProto(input));
  for (const output of model.outputs) graph.message(12, valueInfoProto(output));
  const out = new ProtobufWriter()
    .int64(1, ONNX_IR_VERSION)
    .string(2, "proximal")
    .string(3, model.producerVersion);
  if (model.docString !== undefined) out.string(6, model.docString);
  out.message(7, graph);
  out.message(8, new ProtobufWriter().string(1, "").int64(2, ONNX_OPSET));
  for (const [key, value] of Object.entries(model.metadata ?? {})) {
    out.message(14, new ProtobufWriter().string(1, key).string(2, value));
  }
  return out.finish();
}
