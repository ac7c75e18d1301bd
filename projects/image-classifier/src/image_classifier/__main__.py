from image_classifier.cli import main

main()
