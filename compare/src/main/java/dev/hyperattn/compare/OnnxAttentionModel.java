package dev.hyperattn.compare;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

/**
 * Serialises a one-node ONNX model (a single {@code Attention} op, opset 23) as ModelProto bytes.
 *
 * <p>ONNX Runtime's Java API can run models but cannot build them, and pulling in protobuf plus
 * the generated ONNX classes just for one node would dwarf this benchmark; the handful of
 * messages needed are simple enough to encode directly. Field numbers follow onnx/onnx.proto.
 */
final class OnnxAttentionModel {

    static final int ELEM_FLOAT = 1;
    static final int ELEM_FLOAT16 = 10;
    static final int ELEM_BFLOAT16 = 16;

    private OnnxAttentionModel() {}

    /**
     * Q is [1, hq, nq, d]; K and V are [1, hkv, nk, d]. 4-D inputs let the op infer head counts
     * from the shapes, so no q_num_heads / kv_num_heads attributes are needed.
     */
    static byte[] build(int elemType, long hq, long hkv, long nq, long nk, long d,
                        boolean causal, float scale) {
        Msg node = new Msg()
                .string(1, "Q").string(1, "K").string(1, "V")
                .string(2, "Y")
                .string(3, "attention")
                .string(4, "Attention")
                .message(5, intAttr("is_causal", causal ? 1 : 0))
                .message(5, floatAttr("scale", scale));

        Msg graph = new Msg()
                .message(1, node)
                .string(2, "hyperattn_compare")
                .message(11, valueInfo("Q", elemType, 1, hq, nq, d))
                .message(11, valueInfo("K", elemType, 1, hkv, nk, d))
                .message(11, valueInfo("V", elemType, 1, hkv, nk, d))
                .message(12, valueInfo("Y", elemType, 1, hq, nq, d));

        // IR version 11 is the first that may import opset 23 (ONNX 1.18).
        return new Msg()
                .varint(1, 11)
                .string(2, "hyperattn-compare")
                .message(7, graph)
                .message(8, new Msg().string(1, "").varint(2, 23))
                .bytes();
    }

    private static Msg intAttr(String name, long value) {
        return new Msg().string(1, name).varint(3, value).varint(20, 2 /* INT */);
    }

    private static Msg floatAttr(String name, float value) {
        return new Msg().string(1, name).fixed32(2, Float.floatToRawIntBits(value))
                .varint(20, 1 /* FLOAT */);
    }

    private static Msg valueInfo(String name, int elemType, long... dims) {
        Msg shape = new Msg();
        for (long dim : dims) shape.message(1, new Msg().varint(1, dim));
        Msg tensorType = new Msg().varint(1, elemType).message(2, shape);
        return new Msg().string(1, name).message(2, new Msg().message(1, tensorType));
    }

    /** Just enough of the protobuf wire format: varint (type 0), fixed32 (5), length-delimited (2). */
    static final class Msg {
        private final ByteArrayOutputStream out = new ByteArrayOutputStream();

        Msg varint(int field, long value) {
            tag(field, 0);
            writeVarint(value);
            return this;
        }

        Msg fixed32(int field, int value) {
            tag(field, 5);
            for (int i = 0; i < 4; i++) out.write(value >>> (8 * i));
            return this;
        }

        Msg string(int field, String s) {
            return lengthDelimited(field, s.getBytes(StandardCharsets.UTF_8));
        }

        Msg message(int field, Msg m) {
            return lengthDelimited(field, m.bytes());
        }

        byte[] bytes() {
            return out.toByteArray();
        }

        private Msg lengthDelimited(int field, byte[] payload) {
            tag(field, 2);
            writeVarint(payload.length);
            out.writeBytes(payload);
            return this;
        }

        private void tag(int field, int wireType) {
            writeVarint(((long) field << 3) | wireType);
        }

        private void writeVarint(long v) {
            while ((v & ~0x7FL) != 0) {
                out.write((int) ((v & 0x7F) | 0x80));
                v >>>= 7;
            }
            out.write((int) v);
        }
    }
}
