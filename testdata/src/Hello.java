// A small program for tests/runtime_java.rs: it exercises what a packed JRE must hold
// beyond `java -version`: the class library (java.util), the security providers and
// their configuration (conf/security/java.security: SecureRandom, MessageDigest), the
// time-zone database (lib/tzdb.dat), the trust store (lib/security/cacerts, when the
// image has it) and lib/jspawnhelper (ProcessBuilder runs every child through it on
// Linux). Each line is checked by the test; compiled by scripts/make-fixtures.sh with
// `javac --release 17`.

import java.io.File;
import java.io.FileInputStream;
import java.io.InputStream;
import java.security.KeyStore;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.time.Instant;
import java.time.ZoneId;
import java.util.Map;
import java.util.TreeMap;

public class Hello {
    public static void main(String[] args) throws Exception {
        System.out.println("hello from " + System.getProperty("java.home"));

        Map<String, Integer> map = new TreeMap<>();
        map.put("b", 2);
        map.put("a", 1);
        System.out.println("map: " + map);

        MessageDigest sha = MessageDigest.getInstance("SHA-256");
        StringBuilder hex = new StringBuilder();
        for (byte b : sha.digest("minroot".getBytes("UTF-8"))) {
            hex.append(String.format("%02x", b));
        }
        System.out.println("sha256: " + hex);

        byte[] random = new byte[16];
        SecureRandom.getInstanceStrong().nextBytes(random);
        System.out.println("securerandom: " + random.length + " bytes");

        // 2024-01-01T00:00Z in Paris: one hour ahead in winter.
        System.out.println("zone: " + Instant.parse("2024-01-01T00:00:00Z").atZone(ZoneId.of("Europe/Paris")).getOffset());

        File cacerts = new File(System.getProperty("java.home"), "lib/security/cacerts");
        if (cacerts.isFile()) {
            KeyStore ks = KeyStore.getInstance(KeyStore.getDefaultType());
            try (InputStream in = new FileInputStream(cacerts)) {
                ks.load(in, null);
            }
            System.out.println("cacerts: " + ks.size() + " certificates");
        } else {
            System.out.println("cacerts: absent");
        }

        String java = System.getProperty("java.home") + "/bin/java";
        Process p = new ProcessBuilder(java, "-version").redirectErrorStream(true).start();
        p.getInputStream().readAllBytes();
        System.out.println("spawn: exit " + p.waitFor());
    }
}
