#include "runmemory.h"
#include "tensor.h"

#include <QFile>
#include <QTest>

#include <sys/resource.h>

using namespace studio;

// A request for petabytes must come back as a failed allocation, not end this test under
// AddressSanitizer (whose default is to abort on such a request).
extern "C" const char *__asan_default_options()
{
    return "allocator_may_return_null=1";
}

namespace {

ModelConfig gpt2Small()
{
    ModelConfig config;
    config.layers = 12;
    config.heads = 12;
    config.kvHeads = 12;
    config.hidden = 768;
    config.intermediate = 3072;
    config.vocabSize = 50257;
    config.maxPositions = 1024;
    return config;
}

double virtualMemoryBytes()
{
    QFile status(QStringLiteral("/proc/self/status"));
    if (!status.open(QIODevice::ReadOnly))
        return -1;
    for (const QByteArray &line : status.read(64 * 1024).split('\n'))
        if (line.startsWith("VmSize:"))
            return line.mid(7).simplified().split(' ').value(0).toDouble() * 1024.0;
    return -1;
}

} // namespace

class TestRunMemory : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void windowRunOfGpt2SmallAtItsLongestText()
    {
        // T = 1024, L = H = 12, C = 768, d = 64, I = 3072, in floats:
        //   maps        L·H·T²      = 144 · 1,048,576       = 150,994,944
        //   one head's  4·T² + 4·T·d = 4,194,304 + 262,144   =   4,456,448
        //   inputs      2·L·T·C     = 2 · 12 · 1024 · 768    =  18,874,368 (attention input and residual stream)
        //   working     T·(7C + I)  = 1024 · 8448            =   8,650,752
        //   total 182,976,512 floats = 731,906,048 bytes
        QCOMPARE(checkpointRunBytes(gpt2Small(), 1024, RunKind::Window), 731906048.0);
    }

    void traceHoldsOneLayerAtATime()
    {
        // Without stages: H·T² + T·C + T·(7C + I) = 12,582,912 + 786,432 + 8,650,752 = 22,020,096 floats.
        QCOMPARE(checkpointRunBytes(gpt2Small(), 1024, RunKind::Trace), 88080384.0);
        // Every head's stages of one layer: + 12 · 4,456,448 = 53,477,376 floats.
        QCOMPARE(checkpointRunBytes(gpt2Small(), 1024, RunKind::Trace, 12), 301989888.0);
        // The trace needs far less than the window: it does not hold every layer.
        QVERIFY(checkpointRunBytes(gpt2Small(), 1024, RunKind::Trace) < checkpointRunBytes(gpt2Small(), 1024, RunKind::Window) / 7);
    }

    void teachingModelAtItsLargest()
    {
        // 16 heads, d_model 256, d_head 16, 1024 tokens: 16·(4·T² + 4·T·16) + T·256
        //   = 16 · 4,259,840 + 262,144 = 68,419,584 floats; the window adds its 16·T² copy of the maps.
        const TeachingConfig config{256, 16, 16, true};
        QCOMPARE(teachingRunBytes(config, 1024, RunKind::Trace), 273678336.0);
        QCOMPARE(teachingRunBytes(config, 1024, RunKind::Window), 273678336.0 + 4.0 * 16 * 1048576);
    }

    void sizesThatWouldOverflowIntegersStayFinite()
    {
        ModelConfig huge = gpt2Small();
        huge.layers = 4096;
        huge.heads = 1 << 20;
        huge.hidden = 1 << 20;
        const double bytes = checkpointRunBytes(huge, 1 << 24, RunKind::Window);
        QVERIFY(std::isfinite(bytes));
        QVERIFY(bytes > 4.8e24); // 4 · 4096 · 2²⁰ · 2⁴⁸ alone
        const Status refused = checkRunFits(bytes, 24e9);
        QVERIFY(!refused);
        QVERIFY2(refused.error.contains(QStringLiteral("e+24 bytes")), qPrintable(refused.error));
    }

    void refusalNamesBothFigures()
    {
        const Status refused = checkRunFits(9.4e9, 3.1e9);
        QVERIFY(!refused);
        QVERIFY2(refused.error.contains(QStringLiteral("needs about 9.4 GB")), qPrintable(refused.error));
        QVERIFY2(refused.error.contains(QStringLiteral("3.1 GB is available")), qPrintable(refused.error));
        QVERIFY(checkRunFits(3.1e9, 9.4e9));
        QVERIFY(checkRunFits(9.4e9, 9.4e9));
        QVERIFY(checkRunFits(1e15, 0.0)); // unknown: never refuses
        QVERIFY(checkRunFitsNow(kSmallRunBytes / 2)); // small runs never ask the system
        QVERIFY(!checkRunFitsNow(1e30));              // large ones are checked against it
    }

    void availableMemoryIsBoundedByTheAddressSpaceLimit()
    {
        QVERIFY(availableMemoryBytes() > 0.0);
        const double used = virtualMemoryBytes();
        QVERIFY(used > 0.0);
        rlimit old{};
        QCOMPARE(getrlimit(RLIMIT_AS, &old), 0);
        rlimit limited = old;
        limited.rlim_cur = rlim_t(used + 1e9); // one gigabyte above what this process maps now
        if (old.rlim_cur != RLIM_INFINITY)
            limited.rlim_cur = std::min(limited.rlim_cur, old.rlim_cur);
        QCOMPARE(setrlimit(RLIMIT_AS, &limited), 0);
        const double available = availableMemoryBytes();
        setrlimit(RLIMIT_AS, &old);
        QVERIFY2(available <= 1e9 && available > 0.5e9, qPrintable(QString::number(available)));
    }

    void failedAllocationBecomesAMessage()
    {
        const Status guarded = guardAllocation([] {
            Matrix huge(Eigen::Index(1) << 25, Eigen::Index(1) << 25); // 4 PB: malloc refuses, Eigen throws
            huge.setZero();
        });
        QVERIFY(!guarded);
        QVERIFY2(guarded.error.contains(QStringLiteral("not enough memory")), qPrintable(guarded.error));
        QVERIFY(guardAllocation([] { Matrix small(4, 4); small.setZero(); }));
    }

    void sizesAreWrittenForPeople()
    {
        QCOMPARE(memoryText(694157312.0), QStringLiteral("694.2 MB"));
        QCOMPARE(memoryText(7.1e9), QStringLiteral("7.1 GB"));
    }
};

QTEST_GUILESS_MAIN(TestRunMemory)
#include "tst_runmemory.moc"
