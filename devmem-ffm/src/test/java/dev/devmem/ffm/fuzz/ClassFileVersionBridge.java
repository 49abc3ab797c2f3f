package dev.devmem.ffm.fuzz;

import com.code_intelligence.jazzer.third_party.net.bytebuddy.agent.ByteBuddyAgent;

import java.lang.instrument.ClassFileTransformer;
import java.lang.instrument.Instrumentation;
import java.security.ProtectionDomain;

/**
 * Lets Jazzer 0.24 instrument this project's classes for coverage. Its bundled ASM stops at class
 * file version 68 (Java 24) and skips every class compiled for Java 25 (69) with "Unsupported class
 * file major version 69", which leaves the fuzzer blind: no coverage, so no guidance. Java 25 added
 * no class-file feature over 24, so this project's classes are handed to the transformers after
 * this one labelled 68; the JVM loads the instrumented result as it would any Java 24 class.
 *
 * <p>Only {@code dev/devmem/} classes are relabelled (the JDK's stay as they are, uninstrumented,
 * as Jazzer already leaves them on Java 25). The transformer must be registered before Jazzer's
 * agent (it installs itself when the first fuzz test starts), so fuzz test classes call
 * {@link #install()} from a static initialiser. Remove this class once a Jazzer release reads
 * Java 25 class files.
 */
final class ClassFileVersionBridge implements ClassFileTransformer {
    private static final int JAVA_21 = 65;
    private static final int JAVA_25 = 69;
    private static boolean installed;

    private ClassFileVersionBridge() {
    }

    static synchronized void install() {
        if (installed) {
            return;
        }
        Instrumentation inst = ByteBuddyAgent.install();
        inst.addTransformer(new ClassFileVersionBridge(), true);
        installed = true;
    }

    @Override
    public byte[] transform(Module module, ClassLoader loader, String className, Class<?> redefined,
                            ProtectionDomain domain, byte[] classfile) {
        if (className == null || !className.startsWith("dev/devmem/") || classfile.length < 8) {
            return null;
        }
        int major = (classfile[6] & 0xFF) << 8 | classfile[7] & 0xFF;
        if (major != JAVA_25) {
            return null;
        }
        byte[] relabelled = classfile.clone();
        relabelled[6] = 0;
        relabelled[7] = (byte) JAVA_21;
        return relabelled;
    }
}
