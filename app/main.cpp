#include "commandline.h"
#include "mainwindow.h"

#include <QApplication>
#include <QCoreApplication>
#include <QGuiApplication>
#include <QTimer>

#include <csignal>
#include <cstring>

int main(int argc, char *argv[])
{
    // A write past the process's file-size limit would kill it with SIGXFSZ; ignored, the write
    // fails instead and the user gets the same clear message as on a full disk.
    std::signal(SIGXFSZ, SIG_IGN);

    // The download, the version and the usage need no fonts or painting: no platform plugin either.
    const QString first = argc > 1 ? QString::fromLocal8Bit(argv[1]) : QString();
    if (first == QStringLiteral("download") || first == QStringLiteral("--version") || first == QStringLiteral("--help")
        || first == QStringLiteral("-h")) {
        QCoreApplication app(argc, argv);
        QCoreApplication::setApplicationName(QStringLiteral("attention-studio"));
        return studio::runSubcommand(QCoreApplication::arguments());
    }

    // A subcommand runs headless: no window system is needed, so it works over ssh and in CI.
    if (argc > 1 && studio::isSubcommand(QString::fromLocal8Bit(argv[1]))) {
        if (qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM"))
            qputenv("QT_QPA_PLATFORM", "offscreen");
        QGuiApplication app(argc, argv); // fonts and painting for figure export
        QGuiApplication::setApplicationName(QStringLiteral("attention-studio"));
        return studio::runSubcommand(QGuiApplication::arguments());
    }

    QApplication app(argc, argv);
    QApplication::setApplicationName(QStringLiteral("Attention Studio"));
    QApplication::setOrganizationName(QStringLiteral("Attention Studio"));
    QApplication::setApplicationVersion(QStringLiteral(PROJECT_VERSION));
    QGuiApplication::setDesktopFileName(QStringLiteral("org.attentionstudio.AttentionStudio")); // icon and grouping on Wayland
    studio::MainWindow window;
    const QStringList files = QApplication::arguments().mid(1);
    window.show();
    if (!files.isEmpty())
        window.openPath(files.first());
    else
        QTimer::singleShot(0, &window, &studio::MainWindow::offerRecovery);
    return app.exec();
}
