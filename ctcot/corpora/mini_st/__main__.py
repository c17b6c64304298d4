from ctcot.corpora.mini_st.prepare import main

main()
